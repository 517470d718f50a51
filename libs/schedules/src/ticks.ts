import type { ScheduleSpec } from '@mesh/contracts';
import { CronExpressionParser } from 'cron-parser';

type Timing = Pick<ScheduleSpec, 'cron' | 'intervalS' | 'timeZone'>;

/** The latest tick at or before `nowMs`. */
export function latestTick(spec: Timing, nowMs: number): number {
  if (spec.intervalS !== null) {
    const every = spec.intervalS * 1000;
    return Math.floor(nowMs / every) * every;
  }
  // cron-parser's prev() is strictly before its current date; a tick exactly now counts.
  return CronExpressionParser.parse(spec.cron ?? '', { tz: spec.timeZone, currentDate: new Date(nowMs + 1) })
    .prev()
    .getTime();
}

/** The first tick after `afterMs`. */
export function nextTick(spec: Timing, afterMs: number): number {
  if (spec.intervalS !== null) {
    const every = spec.intervalS * 1000;
    return (Math.floor(afterMs / every) + 1) * every;
  }
  return CronExpressionParser.parse(spec.cron ?? '', { tz: spec.timeZone, currentDate: new Date(afterMs) })
    .next()
    .getTime();
}

/**
 * The ticks to fire now, oldest first: none while the latest was fired; for a
 * schedule that catches up, every tick after the last one fired (at most `max`,
 * the rest next time); otherwise, and when nothing was ever fired, the latest only.
 */
export function dueTicks(
  spec: Timing & Pick<ScheduleSpec, 'missed'>,
  lastFiredTickMs: number | null,
  nowMs: number,
  max: number,
): number[] {
  const latest = latestTick(spec, nowMs);
  if (lastFiredTickMs !== null && latest <= lastFiredTickMs) return [];
  if (spec.missed === 'skip' || lastFiredTickMs === null) return [latest];
  const ticks: number[] = [];
  for (let tick = nextTick(spec, lastFiredTickMs); tick <= latest && ticks.length < max; tick = nextTick(spec, tick)) {
    ticks.push(tick);
  }
  return ticks;
}

/** A tick's event id: the same whichever replica fires it, so a tick fired twice is handled once. */
export const tickEventId = (schedule: string, tickMs: number) => `schedule:${schedule}:${tickMs}`;
