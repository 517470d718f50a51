import type { ScheduleStore } from '@mesh/schedules';
import { eventually, uniqueName } from '@mesh/harness';

export interface ScheduleStoreUnderTest {
  store: ScheduleStore;
  dispose(): Promise<void>;
}

/** The behaviour every ScheduleStore adapter must have. Run against each adapter. */
export function scheduleStoreContract(adapter: string, create: () => Promise<ScheduleStoreUnderTest>): void {
  describe(`ScheduleStore contract: ${adapter}`, () => {
    let under: ScheduleStoreUnderTest;
    beforeEach(async () => {
      under = await create();
    });
    afterEach(() => under.dispose());

    it('lets one replica fire a tick, tells the others it is busy, then done once fired', async () => {
      const name = uniqueName('schedule');
      const claims = await Promise.all([1, 2, 3].map(() => under.store.claim(name, 2_000, 60_000)));
      expect(claims.sort()).toEqual(['busy', 'busy', 'run']);
      await under.store.fired(name, 2_000, 2_100);
      expect(await under.store.claim(name, 2_000, 60_000)).toBe('done');
      // An older tick is done too: a schedule never goes back.
      expect(await under.store.claim(name, 1_000, 60_000)).toBe('done');
      expect(await under.store.claim(name, 4_000, 60_000)).toBe('run');
      expect(await under.store.states([name, uniqueName('never')])).toEqual([
        { lastTickMs: 2_000, firedAtMs: 2_100 },
        null,
      ]);
    });

    it('frees a tick whose replica died before firing it, once its claim lapses', async () => {
      const name = uniqueName('schedule');
      expect(await under.store.claim(name, 6_000, 200)).toBe('run');
      expect(await under.store.claim(name, 6_000, 60_000)).toBe('busy');
      await eventually(async () => expect(await under.store.claim(name, 6_000, 60_000)).toBe('run'), {
        timeoutMs: 5_000,
      });
    });

    it('keeps the latest tick fired when an older one is marked fired late', async () => {
      const name = uniqueName('schedule');
      await under.store.fired(name, 8_000, 8_050);
      await under.store.fired(name, 6_000, 9_000);
      expect(await under.store.states([name])).toEqual([{ lastTickMs: 8_000, firedAtMs: 8_050 }]);
    });
  });
}
