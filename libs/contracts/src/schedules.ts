import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { INVOCATION_OUTCOME_VALUES } from './admin.schemas';
import { FUNCTION_CATALOG } from './function-catalog';

const FUNCTION_NAMES = FUNCTION_CATALOG.map((f) => f.name) as [string, ...string[]];

/** A five-field cron expression (minute hour day month weekday). */
export const CronText = z
  .string()
  .max(120)
  .refine((cron) => isCron(cron), 'not a cron expression (minute hour day month weekday)');
/** An IANA time zone, e.g. Europe/Berlin. */
export const TimeZone = z.string().refine((zone) => isTimeZone(zone), 'not an IANA time zone');

/**
 * A schedule: a function started at fixed times by a `schedule.fired` event, as
 * a cron expression (five fields, in `timeZone`) or every `intervalS` seconds
 * (ticks aligned to the epoch, so every replica agrees on them). `missed` says
 * what happens to ticks that passed while nothing could fire them: `catch-up`
 * fires each of them, oldest first, once firing is possible again; `skip` fires
 * only the latest.
 */
export const ScheduleSpec = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'not a schedule name'),
    function: z.enum(FUNCTION_NAMES),
    cron: CronText.nullable().default(null),
    intervalS: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .nullable()
      .default(null),
    timeZone: TimeZone.default('UTC'),
    missed: z.enum(['catch-up', 'skip']).default('skip'),
    payload: z.record(z.string(), z.unknown()).default({}),
  })
  .refine((s) => (s.cron === null) !== (s.intervalS === null), 'give either cron or intervalS');
export type ScheduleSpec = z.infer<typeof ScheduleSpec>;

/** A deployment's schedules (`SCHEDULES`): names unique. */
export const ScheduleSpecs = z
  .array(ScheduleSpec)
  .max(100)
  .refine((specs) => new Set(specs.map((s) => s.name)).size === specs.length, 'schedule names must be unique');

function isCron(cron: string): boolean {
  try {
    CronExpressionParser.parse(cron, { strict: false });
    return cron.trim().split(/\s+/).length === 5;
  } catch {
    return false;
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The schedules declared with the function catalog. A deployment may replace
 * them (`SCHEDULES`, a JSON array of the same shape), e.g. to move a job to its
 * market's quiet hours.
 */
export const SCHEDULES: readonly ScheduleSpec[] = [
  ScheduleSpec.parse({
    // Invocation records are kept a day; the stream's length cap alone keeps a quiet day's for weeks.
    name: 'invocation-records-retention',
    function: 'housekeeping',
    cron: '15 3 * * *',
    timeZone: 'UTC',
    missed: 'skip',
    payload: { task: 'trim-invocation-records' },
  }),
  ScheduleSpec.parse({
    // Each hour's dispatch report, a couple of minutes after it ends (its last deliveries archived);
    // every hour is reported, those missed while nothing ran included.
    name: 'dispatch-report-hourly',
    function: 'housekeeping',
    cron: '2 * * * *',
    timeZone: 'UTC',
    missed: 'catch-up',
    payload: { task: 'dispatch-report' },
  }),
  ScheduleSpec.parse({
    // The route log's raw rows are kept ARCHIVE_RETENTION_DAYS; the reports' hourly rollups stay.
    name: 'route-log-retention',
    function: 'housekeeping',
    cron: '45 3 * * *',
    timeZone: 'UTC',
    missed: 'skip',
    payload: { task: 'trim-route-log' },
  }),
];

/** `GET /v1/admin/schedules` (API.md). */
export const ScheduleView = z.object({
  name: z.string(),
  cron: z.string().nullable(),
  intervalS: z.number().nullable(),
  timeZone: z.string(),
  lastFire: z
    .object({
      at: z.string(),
      /** The invocation's outcome, or `fired` while its function has not finished with it. */
      outcome: z.enum([...INVOCATION_OUTCOME_VALUES, 'fired']),
    })
    .nullable(),
  nextFireAt: z.string(),
});
export type ScheduleView = z.infer<typeof ScheduleView>;
export const ScheduleList = z.object({ items: z.array(ScheduleView) });
export type ScheduleList = z.infer<typeof ScheduleList>;
