import type { StreamJob } from '@mesh/contracts';
import {
  createStream,
  setParticipant,
  startStream,
  stopStream,
  type StreamChange,
  type StreamStore,
} from '@mesh/streams';
import { newEvent } from '@mesh/bus';
import type { Outbox } from '@mesh/outbox';
import { STREAMS_TAG } from '@mesh/redis';
import { uniqueName } from '@mesh/harness';

export interface StreamStoreUnderTest {
  store: StreamStore;
  /** The outbox its commits write stream-mix requests to. */
  outbox: Outbox;
  dispose(): Promise<void>;
}

/** The behaviour every StreamStore adapter must have. Run against each adapter. */
export function streamStoreContract(adapter: string, create: () => Promise<StreamStoreUnderTest>): void {
  describe(`StreamStore contract: ${adapter}`, () => {
    let under: StreamStoreUnderTest;
    beforeEach(async () => {
      under = await create();
    });
    afterEach(() => under.dispose());

    const now = new Date('2026-11-22T12:00:00Z');
    const fresh = () =>
      createStream({ id: uniqueName('S').toUpperCase(), hostId: 'host-1', title: 'room', rtmpUrl: null, now });
    const job = (startRevision: number, status: StreamJob['status']): StreamJob => ({
      startRevision,
      revision: startRevision,
      status,
      error: status === 'failed' ? 'boom' : null,
      push: null,
      at: now.toISOString(),
    });

    it('writes a change’s stream-mix request to the outbox with it, and nothing for a change refused', async () => {
      const created = fresh();
      const request = (change: StreamChange) =>
        newEvent(change.type, { stream: change.after }, { source: '/test', key: change.after.id });
      const event = request(created);
      await expect(under.store.commit(created, event)).resolves.toBe(true);
      await expect(under.store.commit(created, request(created))).resolves.toBe(false);
      const entries = await under.outbox.read(STREAMS_TAG, '', 100, 0);
      expect(entries.map((e) => ({ topic: e.topic, event: e.event }))).toEqual([{ topic: 'streams', event }]);
    });

    it('restores streams from their latest request, never over a newer revision', async () => {
      const created = fresh();
      const withInput = setParticipant(
        created.after,
        'a',
        { inputUrl: 'test:pattern', volume: 1, muted: false },
        9,
        now,
      );
      expect(await under.store.restore([withInput.after])).toBe(1);
      expect((await under.store.stream(created.after.id))?.spec).toEqual(withInput.after);
      expect(await under.store.restore([created.after])).toBe(0);
      expect((await under.store.stream(created.after.id))?.spec.revision).toBe(withInput.after.revision);
      expect((await under.store.list(100)).map((s) => s.spec.id)).toContain(created.after.id);
    });

    it('stores a new stream once, and each change only over the revision it was made from', async () => {
      const created = fresh();
      await expect(under.store.commit(created)).resolves.toBe(true);
      await expect(under.store.commit(created)).resolves.toBe(false);

      const first = setParticipant(created.after, 'a', { inputUrl: 'test:pattern', volume: 1, muted: false }, 9, now);
      const rival = setParticipant(created.after, 'b', { inputUrl: 'test:pattern', volume: 1, muted: false }, 9, now);
      await expect(under.store.commit(first)).resolves.toBe(true);
      // Made from the same revision: it lost the race and changes nothing.
      await expect(under.store.commit(rival)).resolves.toBe(false);

      const stored = await under.store.stream(created.after.id);
      expect(stored).toEqual({ spec: first.after, job: null });
      await expect(under.store.stream('NO-SUCH-STREAM')).resolves.toBeNull();
    });

    it('takes a stream live only within the live-room limits, per host and in all, atomically', async () => {
      const host = uniqueName('host');
      /** A stream of `hostId`, committed with one input, and the change that would start it. */
      const startable = async (hostId: string) => {
        const created = createStream({ id: uniqueName('S').toUpperCase(), hostId, title: 'room', rtmpUrl: null, now });
        await under.store.commit(created);
        const input = { inputUrl: 'test:pattern', volume: 1, muted: false };
        const withInput = setParticipant(created.after, 'a', input, 9, now);
        await under.store.commit(withInput);
        return startStream(withInput.after, null, now) as StreamChange;
      };
      const limits = { perHost: 2, total: 1_000 };
      const [one, two, three] = [await startable(host), await startable(host), await startable(host)];
      await expect(under.store.commit(one, undefined, limits)).resolves.toBe(true);
      await expect(under.store.commit(two, undefined, limits)).resolves.toBe(true);
      await expect(under.store.commit(three, undefined, limits)).rejects.toMatchObject({ scope: 'host', limit: 2 });
      expect((await under.store.stream(three.after.id))?.spec.desired).toBe('idle');
      // A change to a room already live does not count it twice; stopping one frees its place.
      const stopped = stopStream(one.after, now) as StreamChange;
      await expect(under.store.commit(stopped, undefined, limits)).resolves.toBe(true);
      await expect(under.store.commit(three, undefined, limits)).resolves.toBe(true);
      // Everyone's limit counts every host's live rooms.
      const elsewhere = await startable(uniqueName('host'));
      await expect(under.store.commit(elsewhere, undefined, { perHost: 5, total: 1 })).rejects.toMatchObject({
        scope: 'total',
      });
    });

    it('counts the live rooms and their inputs: from a room’s start to its stop, its co-hosts as they change', async () => {
      const input = (url: string) => ({ inputUrl: url, volume: 1, muted: false });
      const before = await under.store.liveLoad();
      const created = fresh();
      await under.store.commit(created);
      const one = setParticipant(created.after, 'a', input('test:pattern'), 9, now);
      await under.store.commit(one);
      const started = startStream(one.after, null, now) as StreamChange;
      await under.store.commit(started);
      expect(await under.store.liveLoad()).toEqual({ rooms: before.rooms + 1, inputs: before.inputs + 1 });
      // A co-host joins the live room: the same room, one more input.
      const two = setParticipant(started.after, 'b', input('test:color=red'), 9, now);
      await under.store.commit(two);
      expect(await under.store.liveLoad()).toEqual({ rooms: before.rooms + 1, inputs: before.inputs + 2 });
      // An idle room counts for nothing; a stopped one no more.
      const idle = fresh();
      await under.store.commit(idle);
      await under.store.commit(setParticipant(idle.after, 'c', input('test:pattern'), 9, now));
      await under.store.commit(stopStream(two.after, now) as StreamChange);
      expect(await under.store.liveLoad()).toEqual(before);
    });

    it('keeps a job report only for the current run, and a spec change never drops it', async () => {
      const created = fresh();
      await under.store.commit(created);
      const withInput = setParticipant(
        created.after,
        'a',
        { inputUrl: 'test:pattern', volume: 1, muted: false },
        9,
        now,
      );
      await under.store.commit(withInput);
      const started = startStream(withInput.after, null, now) as StreamChange;
      await under.store.commit(started);
      const run = started.after.startRevision as number;

      await expect(under.store.recordJob(created.after.id, job(run, 'live'))).resolves.toBe(true);
      // A report from an earlier run is not taken for this one.
      await expect(under.store.recordJob(created.after.id, job(run - 1, 'failed'))).resolves.toBe(false);
      const stopped = stopStream(started.after, now) as StreamChange;
      await under.store.commit(stopped);

      await expect(under.store.stream(created.after.id)).resolves.toEqual({
        spec: stopped.after,
        job: job(run, 'live'),
      });
      await expect(under.store.recordJob(uniqueName('nothing'), job(1, 'live'))).resolves.toBe(false);
    });

    it('lists streams newest first', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const change = fresh();
        await under.store.commit(change);
        ids.push(change.after.id);
      }
      const listed = (await under.store.list(1_000)).map((s) => s.spec.id).filter((id) => ids.includes(id));
      expect(listed).toEqual([...ids].sort().reverse());
    });
  });
}
