import { AppConfig } from '@mesh/config';
import type { ServerEventName, StreamSpec } from '@mesh/contracts';
import { silentLogger } from '@mesh/harness';
import { MemoryOutbox } from '@mesh/outbox';
import { ClientPush } from '@mesh/realtime';
import { STREAMS_TAG } from '@mesh/redis';
import {
  MemoryRoomLeases,
  MemoryStreamStore,
  PlaybackSigner,
  createStream,
  setParticipant,
  startStream,
  type StreamChange,
} from '@mesh/streams';
import { Metrics } from '@mesh/telemetry';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MixJobs } from './mix-jobs';
import { FakeControl, FakeRunner, settled, until } from './mix.fakes';
import { MixFunction } from './mix.function';

class SilentPush extends ClientPush {
  emit(_to: string | readonly string[], _event: ServerEventName): Promise<void> {
    return Promise.resolve();
  }
  leave(): void {}
}

/**
 * Two replicas of the mix on one store and one set of leases, each with a fake ffmpeg: a
 * room moves from one to the other as the group would move it, and is never mixed by both.
 */
describe('MixFunction: a room moving between replicas', () => {
  let hlsDir: string;
  let outbox: MemoryOutbox;
  let store: MemoryStreamStore;
  let leases: MemoryRoomLeases;
  const replicas: { fn: MixFunction; jobs: MixJobs; runner: FakeRunner }[] = [];

  const replica = () => {
    const config = AppConfig.fromEnv({ JWT_SECRET: 'x'.repeat(32), MIX_TEST_SOURCES: '1', MIX_HLS_DIR: hlsDir });
    const runner = new FakeRunner();
    const jobs = new MixJobs(config, new Metrics(), silentLogger, runner, new FakeControl());
    const playback = new PlaybackSigner(Buffer.from('p'.repeat(32)), 3_600);
    const fn = new MixFunction(jobs, store, new SilentPush(), playback, silentLogger, leases);
    replicas.push({ fn, jobs, runner });
    return { fn, jobs, runner };
  };

  beforeEach(async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    hlsDir = await mkdtemp(join(tmpdir(), 'mix-function-'));
    outbox = new MemoryOutbox([STREAMS_TAG]);
    store = new MemoryStreamStore(outbox);
    leases = new MemoryRoomLeases();
  });
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map(({ fn }) => fn.onApplicationShutdown()));
    await outbox.close();
    jest.useRealTimers();
    await rm(hlsDir, { recursive: true, force: true });
  });

  /** A live room in the store, as the gateway leaves it. */
  async function liveRoom(): Promise<StreamSpec> {
    const now = new Date();
    const created = createStream({ id: 'ROOM1', hostId: 'host-1', title: 'room', rtmpUrl: null, now });
    await store.commit(created);
    const input = { inputUrl: 'test:color=red', volume: 1, muted: false };
    const withInput = setParticipant(created.after, 'host-1', input, 9, now);
    await store.commit(withInput);
    const started = startStream(withInput.after, null, now) as StreamChange;
    await store.commit(started);
    return started.after;
  }

  it('starts the room on its new replica only once the old one stopped it and gave its lease up', async () => {
    const room = await liveRoom();
    const [a, b] = [replica(), replica()];
    await a.fn.onHosted();
    await b.fn.onHosted();
    const everything = () => true;
    const nothing = () => false;

    await a.fn.onAssigned(everything);
    expect(a.runner.runs).toHaveLength(1);
    // The group moves the room to b before a has let it go: b waits, a mixes on.
    await b.fn.onAssigned(everything);
    await jest.advanceTimersByTimeAsync(2_000);
    await settled();
    expect(b.runner.runs).toHaveLength(0);
    expect(a.runner.run(1).ended).toBe(false);

    // a lets go: its ffmpeg stops first, then its lease goes, and b takes the room at its next renewal.
    await a.fn.onAssigned(nothing);
    expect(a.runner.run(1).signals).toEqual(['SIGTERM']);
    await jest.advanceTimersByTimeAsync(500);
    await until(() => b.runner.runs.length === 1, 'the room mixed by b');
    expect(b.jobs.running()).toEqual([room.id]);
    expect(a.jobs.running()).toEqual([]);
  });

  it('takes the room over once a dead replica’s lease ran out', async () => {
    const room = await liveRoom();
    const [a, b] = [replica(), replica()];
    await b.fn.onHosted();
    await a.fn.onAssigned(() => true);
    expect(a.runner.runs).toHaveLength(1);
    // a dies: it renews nothing any more (its renewer never ran here), and b is given the room.
    await b.fn.onAssigned(() => true);
    expect(b.runner.runs).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(3_000);
    await until(() => b.runner.runs.length === 1, 'the room mixed by b');
    expect(b.jobs.running()).toEqual([room.id]);
  });

  it('mixes on when renewals failed past its lease and nobody took the room (Redis failing over)', async () => {
    const room = await liveRoom();
    const a = replica();
    await a.fn.onAssigned(() => true);
    // No renewal for longer than the lease: its renewer starts only now, as if Redis had just come back.
    await jest.advanceTimersByTimeAsync(3_000);
    await a.fn.onHosted();
    await jest.advanceTimersByTimeAsync(1_000);
    await settled();
    expect(a.runner.runs).toHaveLength(1);
    expect(a.runner.run(1).ended).toBe(false);
    expect(a.jobs.running()).toEqual([room.id]);
    await expect(leases.acquire(room.id, 'another', 10_000)).resolves.toBe(false);
  });

  it('mixes a room of its own again once another replica that took its lease lets it go', async () => {
    const room = await liveRoom();
    const a = replica();
    await a.fn.onAssigned(() => true);
    await jest.advanceTimersByTimeAsync(3_000);
    // Its lease ran out and another took it: a stops its ffmpeg at its next renewal.
    await expect(leases.acquire(room.id, 'another', 60_000)).resolves.toBe(true);
    await a.fn.onHosted();
    await jest.advanceTimersByTimeAsync(500);
    await until(() => a.runner.run(1).signals.length > 0, 'a stopping its ffmpeg');
    expect(a.jobs.running()).toEqual([]);
    // The room's partition is still a's: once the other lets go, a mixes it again.
    await leases.release(room.id, 'another');
    await jest.advanceTimersByTimeAsync(500);
    await until(() => a.runner.runs.length === 2, 'the room mixed by a again');
    expect(a.jobs.running()).toEqual([room.id]);
  });
});
