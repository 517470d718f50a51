import type { InvocationLedger, InvocationRecord } from '@mesh/invocations';
import { eventually, uniqueName } from '@mesh/harness';

export interface LedgerUnderTest {
  ledger: InvocationLedger;
  dispose(): Promise<void>;
}

/** The behaviour every InvocationLedger adapter must have. Run against each adapter. */
export function invocationLedgerContract(adapter: string, create: () => Promise<LedgerUnderTest>): void {
  describe(`InvocationLedger contract: ${adapter}`, () => {
    let under: LedgerUnderTest;
    beforeEach(async () => {
      under = await create();
    });
    afterEach(() => under.dispose());

    it('lets one worker run an event, tells others it is busy, and remembers it done', async () => {
      const fn = uniqueName('fn');
      const id = uniqueName('event');
      await expect(under.ledger.claim(fn, id, 60_000)).resolves.toBe('run');
      await expect(under.ledger.claim(fn, id, 60_000)).resolves.toBe('busy');
      await under.ledger.complete(fn, id, 60_000);
      await expect(under.ledger.claim(fn, id, 60_000)).resolves.toBe('done');
      // Another function handles the same event independently.
      await expect(under.ledger.claim(uniqueName('fn'), id, 60_000)).resolves.toBe('run');
    });

    it('answers each of many events claimed, completed and recorded at once on its own, in order', async () => {
      const fn = uniqueName('fn');
      const ids = Array.from({ length: 40 }, () => uniqueName('event'));
      // The first event is asked for twice in the same breath: one worker runs it, the other is told it is busy.
      const claims = await Promise.all([...ids, ids[0]!].map((id) => under.ledger.claim(fn, id, 60_000)));
      expect(claims).toEqual([...ids.map(() => 'run'), 'busy']);
      await Promise.all(ids.slice(0, 30).map((id) => under.ledger.complete(fn, id, 60_000)));
      const again = await Promise.all(ids.map((id) => under.ledger.claim(fn, id, 60_000)));
      expect(again).toEqual([...ids.slice(0, 30).map(() => 'done'), ...ids.slice(30).map(() => 'busy')]);
      await Promise.all(
        ids.map((eventId, i) =>
          under.ledger.record({
            function: fn,
            eventId,
            eventType: 'order.created',
            attempt: 1,
            startedAt: new Date(Date.now() + i).toISOString(),
            durationMs: i,
            outcome: 'ok',
            error: null,
          }),
        ),
      );
      expect((await under.ledger.recent({ function: fn, limit: 100 })).map((r) => r.eventId)).toEqual(
        [...ids].reverse(),
      );
    });

    it('frees a claim on failure, and one whose lease ran out (its worker died)', async () => {
      const fn = uniqueName('fn');
      const failed = uniqueName('event');
      await under.ledger.claim(fn, failed, 60_000);
      await under.ledger.release(fn, failed);
      await expect(under.ledger.claim(fn, failed, 60_000)).resolves.toBe('run');

      const abandoned = uniqueName('event');
      await under.ledger.claim(fn, abandoned, 200);
      await eventually(async () => expect(await under.ledger.claim(fn, abandoned, 60_000)).toBe('run'), {
        timeoutMs: 5_000,
      });
    });

    it('keeps a claim its worker extends past the first lease, and lets it lapse once it stops', async () => {
      const fn = uniqueName('fn');
      const running = uniqueName('event');
      await under.ledger.claim(fn, running, 1_000);
      const startedAt = Date.now();
      while (Date.now() - startedAt < 2_500) {
        await under.ledger.extend(fn, running, 1_000);
        expect(await under.ledger.claim(fn, running, 60_000)).toBe('busy');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await eventually(async () => expect(await under.ledger.claim(fn, running, 60_000)).toBe('run'), {
        timeoutMs: 5_000,
      });
      // Extending what is done changes nothing.
      const finished = uniqueName('event');
      await under.ledger.claim(fn, finished, 60_000);
      await under.ledger.complete(fn, finished, 60_000);
      await under.ledger.extend(fn, finished, 60_000);
      await expect(under.ledger.claim(fn, finished, 60_000)).resolves.toBe('done');
    });

    it('does not release a completed event', async () => {
      const fn = uniqueName('fn');
      const id = uniqueName('event');
      await under.ledger.claim(fn, id, 60_000);
      await under.ledger.complete(fn, id, 60_000);
      await under.ledger.release(fn, id);
      await expect(under.ledger.claim(fn, id, 60_000)).resolves.toBe('done');
    });

    it('forgets the records made before a time, and keeps the later ones', async () => {
      const fn = uniqueName('fn');
      const record = (eventId: string): InvocationRecord => ({
        function: fn,
        eventId,
        eventType: 'schedule.fired',
        attempt: 1,
        startedAt: new Date().toISOString(),
        durationMs: 1,
        outcome: 'ok',
        error: null,
      });
      await under.ledger.record(record('old-1'));
      await under.ledger.record(record('old-2'));
      const cut = Date.now() + 1;
      await eventually(() => expect(Date.now()).toBeGreaterThan(cut));
      await under.ledger.record(record('new'));
      expect(await under.ledger.trimBefore(cut)).toBeGreaterThanOrEqual(2);
      expect((await under.ledger.recent({ function: fn, limit: 10 })).map((r) => r.eventId)).toEqual(['new']);
    });

    it('keeps invocation records, newest first, filtered by function and outcome', async () => {
      const fn = uniqueName('fn');
      const record = (eventId: string, outcome: InvocationRecord['outcome']): InvocationRecord => ({
        function: fn,
        eventId,
        eventType: 'order.created',
        attempt: 1,
        startedAt: new Date().toISOString(),
        durationMs: 1.5,
        outcome,
        error: outcome === 'ok' ? null : 'boom',
      });
      await under.ledger.record(record('e1', 'ok'));
      await under.ledger.record(record('e2', 'dead-lettered'));
      await under.ledger.record(record('e3', 'ok'));
      await under.ledger.record({ ...record('e4', 'ok'), function: uniqueName('other') });

      expect((await under.ledger.recent({ function: fn, limit: 10 })).map((r) => r.eventId)).toEqual([
        'e3',
        'e2',
        'e1',
      ]);
      expect(await under.ledger.recent({ function: fn, outcome: 'dead-lettered', limit: 10 })).toEqual([
        expect.objectContaining({ eventId: 'e2', error: 'boom', durationMs: 1.5 }),
      ]);
      expect(await under.ledger.recent({ function: fn, limit: 2 })).toHaveLength(2);
    });
  });
}
