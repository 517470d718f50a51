import {
  DependencyUnavailable,
  EventBus,
  PermanentFailure,
  newEvent,
  reached,
  type CloudEvent,
  type DeadLetter,
  type Subscription,
} from '@mesh/bus';
import { TOPICS } from '@mesh/contracts';
import { eventually, uniqueName } from '@mesh/harness';

export interface BusUnderTest {
  bus: EventBus;
  /** Releases what the factory made (topics stay; they are uniquely named). */
  dispose(): Promise<void>;
}

/** The behaviour every EventBus adapter must have. Run against each adapter. */
export function eventBusContract(adapter: string, create: () => Promise<BusUnderTest>): void {
  describe(`EventBus contract: ${adapter}`, () => {
    let under: BusUnderTest;
    const subscriptions: Subscription[] = [];

    beforeEach(async () => {
      under = await create();
    });
    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((s) => s.close()));
      await under.dispose();
    });

    const location = (courierId: string, lat: number) =>
      newEvent(
        'courier.location.reported',
        { courierId, lat, lng: 13.4, at: new Date().toISOString() },
        { source: '/test', key: courierId, subject: courierId },
      );

    async function collect(group: string, into: CloudEvent[], handle?: (e: CloudEvent) => Promise<void>) {
      subscriptions.push(
        await under.bus.subscribe({
          group,
          topic: 'couriers',
          handle: async (event) => {
            if (handle) await handle(event);
            into.push(event);
          },
        }),
      );
    }

    it('replays a topic from the earliest or from given positions up to its end, in order per key, outside any group', async () => {
      const key = uniqueName('courier');
      const sent = Array.from({ length: 6 }, (_, i) => location(key, i));
      for (const event of sent) await under.bus.publish('couriers', event);
      const all: CloudEvent[] = [];
      const reached = await under.bus.replay('couriers', 'earliest', (e) => all.push(e));
      expect(all.filter((e) => e.partitionkey === key).map((e) => e.id)).toEqual(sent.map((e) => e.id));
      // From where it got to: nothing more, until something more is published.
      const none: CloudEvent[] = [];
      expect(await under.bus.replay('couriers', reached, (e) => none.push(e))).toEqual(reached);
      expect(none).toEqual([]);
      const later = location(key, 10);
      await under.bus.publish('couriers', later);
      const tail: CloudEvent[] = [];
      await under.bus.replay('couriers', reached, (e) => tail.push(e));
      expect(tail.map((e) => e.id)).toEqual([later.id]);
    });

    it('tells where a topic ends, and where a group has got to on it once it has handled events', async () => {
      const group = uniqueName('g');
      const received: CloudEvent[] = [];
      const sent = location(uniqueName('courier'), 1);
      await under.bus.publish('couriers', sent);
      // Before the group has handled anything, it has not reached the end.
      expect(
        reached(await under.bus.committedPositions(group, 'couriers'), await under.bus.endPositions('couriers')),
      ).toBe(false);
      await collect(group, received);
      await eventually(() => expect(received.map((e) => e.id)).toContain(sent.id));
      await Promise.all(subscriptions.splice(0).map((s) => s.close()));
      const ends: Record<string, string> = {};
      await under.bus.replay('couriers', 'earliest', () => undefined).then((r) => Object.assign(ends, r));
      expect(await under.bus.endPositions('couriers')).toEqual(ends);
      await eventually(async () => {
        const committed = await under.bus.committedPositions(group, 'couriers');
        expect(committed).toEqual(Object.fromEntries(Object.entries(ends).filter(([, offset]) => Number(offset) > 0)));
        expect(reached(committed, ends)).toBe(true);
      });
    });

    it('closes without waiting on a handler that keeps failing: its event stays for the next member', async () => {
      const group = uniqueName('g');
      const sent = location(uniqueName('courier'), 1);
      let attempts = 0;
      const failing = await under.bus.subscribe({
        group,
        topic: 'couriers',
        handle: () => {
          attempts += 1;
          return Promise.reject(new DependencyUnavailable('what it needs is closing too'));
        },
      });
      await under.bus.publish('couriers', sent);
      await eventually(() => expect(attempts).toBeGreaterThan(0), { timeoutMs: 20_000 });
      await failing.close();
      const received: CloudEvent[] = [];
      await collect(group, received);
      await eventually(() => expect(received.map((e) => e.id)).toEqual([sent.id]), { timeoutMs: 20_000 });
    }, 30_000);

    it('delivers a published event with every CloudEvents attribute intact', async () => {
      const received: CloudEvent[] = [];
      await collect(uniqueName('g'), received);
      const sent = location(uniqueName('courier'), 52.5);
      await under.bus.publish('couriers', sent);
      await eventually(() => expect(received.map((e) => e.id)).toContain(sent.id));
      expect(received.find((e) => e.id === sent.id)).toEqual(sent);
    });

    it('keeps the events of one key in publish order, across many keys', async () => {
      const received: CloudEvent[] = [];
      await collect(uniqueName('g'), received);
      const keys = Array.from({ length: 5 }, () => uniqueName('courier'));
      const sent = Array.from({ length: 200 }, (_, i) => location(keys[i % keys.length]!, -80 + i * 0.5));
      await Promise.all(sent.map((e) => under.bus.publish('couriers', e)));
      await eventually(() => expect(received).toHaveLength(sent.length), { timeoutMs: 20_000 });
      for (const key of keys) {
        const order = (list: CloudEvent[]) => list.filter((e) => e.partitionkey === key).map((e) => e.id);
        expect(order(received)).toEqual(order(sent));
      }
    });

    it('gives every group all events, and a late group the events published before it joined', async () => {
      const early: CloudEvent[] = [];
      await collect(uniqueName('g'), early);
      const sent = [location(uniqueName('c'), 1), location(uniqueName('c'), 2)];
      for (const e of sent) await under.bus.publish('couriers', e);
      const late: CloudEvent[] = [];
      await collect(uniqueName('g'), late);
      const ids = sent.map((e) => e.id).sort();
      await eventually(() => expect(early.map((e) => e.id).sort()).toEqual(ids), { timeoutMs: 20_000 });
      await eventually(() => expect(late.map((e) => e.id).sort()).toEqual(ids), { timeoutMs: 20_000 });
    });

    it('delivers an event again when the handler throws, and holds back later events of its key', async () => {
      const received: CloudEvent[] = [];
      const key = uniqueName('courier');
      const first = location(key, 10);
      const second = location(key, 11);
      let failures = 0;
      await collect(uniqueName('g'), received, (event) => {
        if (event.id === first.id && failures < 2) {
          failures += 1;
          return Promise.reject(new Error('transient'));
        }
        return Promise.resolve();
      });
      await under.bus.publish('couriers', first);
      await under.bus.publish('couriers', second);
      await eventually(() => expect(received.map((e) => e.id)).toEqual([first.id, second.id]), { timeoutMs: 20_000 });
      expect(failures).toBe(2);
    });

    async function readDeadLetters(into: DeadLetter[]): Promise<void> {
      subscriptions.push(
        await under.bus.subscribeDeadLetters({
          group: uniqueName('dlq-reader'),
          topic: 'couriers',
          handle: (letter) => {
            into.push(letter);
            return Promise.resolve();
          },
        }),
      );
    }

    it('dead-letters an event that keeps failing, with its payload, headers and error, and goes on with its key', async () => {
      const key = uniqueName('courier');
      const poison = location(key, 20);
      const next = location(key, 21);
      const group = uniqueName('g');
      const handled: string[] = [];
      let attempts = 0;
      subscriptions.push(
        await under.bus.subscribe({
          group,
          topic: 'couriers',
          maxAttempts: 3,
          handle: (event) => {
            if (event.id === poison.id) {
              attempts += 1;
              return Promise.reject(new Error('the geo index said no'));
            }
            handled.push(event.id);
            return Promise.resolve();
          },
        }),
      );
      const letters: DeadLetter[] = [];
      await readDeadLetters(letters);
      await under.bus.publish('couriers', poison);
      await under.bus.publish('couriers', next);

      await eventually(() => expect(handled).toContain(next.id), { timeoutMs: 20_000 });
      expect(attempts).toBe(3);
      const letter = await eventually(
        () => {
          const found = letters.find((l) => l.headers.ce_id === poison.id);
          if (!found) throw new Error('not dead-lettered yet');
          return found;
        },
        { timeoutMs: 20_000 },
      );
      expect(letter).toMatchObject({ topic: 'couriers', group, key, attempts: 3 });
      expect(letter.error).toContain('the geo index said no');
      expect(JSON.parse(letter.value!)).toEqual(poison.data);
      expect(letter.headers).toMatchObject({ ce_type: `io.dispatchmesh.${poison.type}`, ce_source: poison.source });
    });

    it('dead-letters at once an event its handler calls permanently broken, and retries a transient failure', async () => {
      const broken = location(uniqueName('courier'), 30);
      const flaky = location(uniqueName('courier'), 31);
      const tries = new Map<string, number>();
      subscriptions.push(
        await under.bus.subscribe({
          group: uniqueName('g'),
          topic: 'couriers',
          maxAttempts: 5,
          handle: (event) => {
            const n = (tries.get(event.id) ?? 0) + 1;
            tries.set(event.id, n);
            if (event.id === broken.id) return Promise.reject(new PermanentFailure('breaks its contract'));
            if (event.id === flaky.id && n < 3) return Promise.reject(new Error('timeout'));
            return Promise.resolve();
          },
        }),
      );
      const letters: DeadLetter[] = [];
      await readDeadLetters(letters);
      await under.bus.publish('couriers', broken);
      await under.bus.publish('couriers', flaky);

      await eventually(() => expect(letters.map((l) => l.headers.ce_id)).toContain(broken.id), { timeoutMs: 20_000 });
      await eventually(() => expect(tries.get(flaky.id)).toBe(3), { timeoutMs: 20_000 });
      expect(tries.get(broken.id)).toBe(1);
      expect(letters.find((l) => l.headers.ce_id === broken.id)).toMatchObject({ attempts: 1 });
      expect(letters.map((l) => l.headers.ce_id)).not.toContain(flaky.id);
    });

    it('reports a group’s members and lag: what is published and not yet handled', async () => {
      const group = uniqueName('g');
      const before = await under.bus.consumerLag(group, 'couriers');
      const sent = [location(uniqueName('c'), 1), location(uniqueName('c'), 2), location(uniqueName('c'), 3)];
      for (const e of sent) await under.bus.publish('couriers', e);
      expect(await under.bus.consumerLag(group, 'couriers')).toBe(before + 3);
      expect(await under.bus.groupMembers(group)).toBe(0);
      const received: CloudEvent[] = [];
      await collect(group, received);
      await eventually(async () => expect(await under.bus.groupMembers(group)).toBe(1), { timeoutMs: 20_000 });
      await eventually(() => expect(received.length).toBeGreaterThanOrEqual(before + 3), { timeoutMs: 20_000 });
      // Kafka commits positions periodically; the lag falls to zero once it has.
      await eventually(async () => expect(await under.bus.consumerLag(group, 'couriers')).toBe(0), {
        timeoutMs: 20_000,
      });
    });

    it('passes over, unread, the types a subscriber does not take, and moves its position past them', async () => {
      const group = uniqueName('g');
      const courierId = uniqueName('c');
      const availability = (available: boolean) =>
        newEvent('courier.availability.changed', { courierId, available }, { source: '/test', key: courierId });
      const sent = [location(courierId, 1), availability(true), location(courierId, 2), availability(false)];
      for (const e of sent) await under.bus.publish('couriers', e);
      const received: CloudEvent[] = [];
      subscriptions.push(
        await under.bus.subscribe({
          group,
          topic: 'couriers',
          types: ['courier.availability.changed'],
          handle: (event) => Promise.resolve(void received.push(event)),
        }),
      );
      await eventually(() => expect(received.filter((e) => e.partitionkey === courierId)).toHaveLength(2), {
        timeoutMs: 20_000,
      });
      expect(received.every((e) => e.type === 'courier.availability.changed')).toBe(true);
      expect(received.filter((e) => e.partitionkey === courierId).map((e) => e.id)).toEqual([sent[1]!.id, sent[3]!.id]);
      await eventually(async () => expect(await under.bus.consumerLag(group, 'couriers')).toBe(0), {
        timeoutMs: 20_000,
      });
    });

    it('hands a group over where a closed member stopped: its successor gets only the later events', async () => {
      const group = uniqueName('g');
      const courier = uniqueName('c');
      const first: CloudEvent[] = [];
      const firstMember = await under.bus.subscribe({
        group,
        topic: 'couriers',
        handle: (event) => {
          first.push(event);
          return Promise.resolve();
        },
      });
      const early = [1, 2, 3, 4, 5].map((lat) => location(courier, lat));
      for (const e of early) await under.bus.publish('couriers', e);
      await eventually(() => expect(first).toHaveLength(5), { timeoutMs: 20_000 });
      await firstMember.close();

      const late = [6, 7, 8].map((lat) => location(courier, lat));
      for (const e of late) await under.bus.publish('couriers', e);
      const second: CloudEvent[] = [];
      await collect(group, second);
      await eventually(() => expect(second.map((e) => e.id)).toEqual(late.map((e) => e.id)), { timeoutMs: 20_000 });
    });

    /** A member of `group` on `couriers` that keeps the partitions it is told it owns and the events it gets. */
    async function joinGroup(group: string, member: { owns: readonly number[]; got: CloudEvent[] }): Promise<void> {
      subscriptions.push(
        await under.bus.subscribe({
          group,
          topic: 'couriers',
          onAssigned: (partitions) => {
            member.owns = partitions;
          },
          handle: (event) => {
            member.got.push(event);
            return Promise.resolve();
          },
        }),
      );
    }

    it('tells each member its partitions, and a key’s events go to the member whose partitions hold it', async () => {
      const group = uniqueName('g');
      const members = ['a', 'b'].map((name) => ({
        name,
        owns: [] as readonly number[],
        got: [] as CloudEvent[],
      }));
      for (const member of members) await joinGroup(group, member);
      // Once the group has settled, the two shares are apart and cover the topic.
      await eventually(
        () => {
          const [a, b] = members.map((m) => m.owns);
          expect(a!.length).toBeGreaterThan(0);
          expect(b!.length).toBeGreaterThan(0);
          expect(a!.filter((p) => b!.includes(p))).toEqual([]);
          expect(a!.length + b!.length).toBe(TOPICS.couriers.partitions);
        },
        { timeoutMs: 30_000 },
      );
      const sent = Array.from({ length: 20 }, (_, i) => location(uniqueName(`k${i}`), i));
      for (const e of sent) await under.bus.publish('couriers', e);
      await eventually(() => expect(members.flatMap((m) => m.got)).toHaveLength(sent.length), { timeoutMs: 20_000 });
      for (const member of members) {
        for (const event of member.got) {
          expect({
            key: event.partitionkey,
            member: member.name,
            owned: member.owns.includes(under.bus.partitionOf('couriers', event.partitionkey)),
          }).toEqual({ key: event.partitionkey, member: member.name, owned: true });
        }
      }
    });

    it('moves only the partitions a joining member must take: the others keep the rest of theirs', async () => {
      const group = uniqueName('g');
      const member = () => ({ owns: [] as readonly number[], got: [] as CloudEvent[] });
      const join = (m: ReturnType<typeof member>) => joinGroup(group, m);
      const [a, b, c] = [member(), member(), member()];
      await join(a);
      await join(b);
      const settled = (ms: ReturnType<typeof member>[]) =>
        eventually(
          () => {
            const all = ms.flatMap((m) => m.owns);
            expect(new Set(all).size).toBe(TOPICS.couriers.partitions);
            expect(all).toHaveLength(TOPICS.couriers.partitions);
            for (const m of ms) expect(m.owns.length).toBeGreaterThanOrEqual(Math.floor(all.length / ms.length));
          },
          { timeoutMs: 30_000 },
        );
      await settled([a, b]);
      const before = [a.owns, b.owns];
      await join(c);
      await settled([a, b, c]);
      // The newcomer's share came out of the others' shares; nothing else changed hands.
      expect(before[0]).toEqual(expect.arrayContaining([...a.owns]));
      expect(before[1]).toEqual(expect.arrayContaining([...b.owns]));
      expect(c.owns).toHaveLength(TOPICS.couriers.partitions / 3);
    });

    it('answers a ping', async () => {
      await expect(under.bus.ping()).resolves.toBeUndefined();
    });
  });
}
