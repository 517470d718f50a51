import { dueTicks, latestTick, nextTick } from './ticks';

const at = (iso: string) => Date.parse(iso);
const every2s = { cron: null, intervalS: 2, timeZone: 'UTC' };
// 03:15 every day in Berlin: 02:15 UTC in winter, 01:15 UTC in summer.
const berlinNight = { cron: '15 3 * * *', intervalS: null, timeZone: 'Europe/Berlin' };

describe('schedule ticks', () => {
  it('aligns interval ticks to the epoch, so every replica agrees on them', () => {
    expect(latestTick(every2s, at('2026-12-05T10:00:03.900Z'))).toBe(at('2026-12-05T10:00:02Z'));
    expect(latestTick(every2s, at('2026-12-05T10:00:04Z'))).toBe(at('2026-12-05T10:00:04Z'));
    expect(nextTick(every2s, at('2026-12-05T10:00:04Z'))).toBe(at('2026-12-05T10:00:06Z'));
  });

  it('reads cron in the schedule’s time zone, across a daylight-saving change', () => {
    expect(latestTick(berlinNight, at('2026-12-05T10:00:00Z'))).toBe(at('2026-12-05T02:15:00Z'));
    expect(latestTick(berlinNight, at('2026-12-05T02:15:00Z'))).toBe(at('2026-12-05T02:15:00Z'));
    expect(nextTick(berlinNight, at('2026-12-05T02:15:00Z'))).toBe(at('2026-12-06T02:15:00Z'));
    expect(nextTick(berlinNight, at('2026-07-01T12:00:00Z'))).toBe(at('2026-07-02T01:15:00Z'));
  });

  it('fires nothing while the latest tick was fired, and only the latest for a schedule that skips', () => {
    const now = at('2026-12-05T10:00:09Z');
    const skip = { ...every2s, missed: 'skip' as const };
    expect(dueTicks(skip, at('2026-12-05T10:00:08Z'), now, 100)).toEqual([]);
    expect(dueTicks(skip, at('2026-12-05T10:00:00Z'), now, 100)).toEqual([at('2026-12-05T10:00:08Z')]);
    expect(dueTicks(skip, null, now, 100)).toEqual([at('2026-12-05T10:00:08Z')]);
  });

  it('fires every missed tick, oldest first, for a schedule that catches up, a bounded number per look', () => {
    const now = at('2026-12-05T10:00:09Z');
    const catchUp = { ...every2s, missed: 'catch-up' as const };
    expect(dueTicks(catchUp, at('2026-12-05T10:00:02Z'), now, 100)).toEqual(
      ['04', '06', '08'].map((s) => at(`2026-12-05T10:00:${s}Z`)),
    );
    expect(dueTicks(catchUp, at('2026-12-05T10:00:02Z'), now, 2)).toEqual(
      ['04', '06'].map((s) => at(`2026-12-05T10:00:${s}Z`)),
    );
    // Never fired before: nothing to catch up from, the latest only.
    expect(dueTicks(catchUp, null, now, 100)).toEqual([at('2026-12-05T10:00:08Z')]);
  });
});
