import type { StreamSpec } from '@mesh/contracts';
import {
  afterExit,
  afterLiveRefused,
  afterPushFailure,
  planRevision,
  restartWait,
  sameMix,
  type JobFacts,
} from './mix-decisions';

const person = (userId: string, inputUrl = `test:color=${userId}`) => ({ userId, inputUrl, volume: 1, muted: false });
const spec = (revision: number, changes: Partial<StreamSpec> = {}): StreamSpec => ({
  id: 'room-1',
  hostId: 'host-1',
  title: 'room',
  revision,
  layout: 'grid',
  focus: null,
  participants: [person('red')],
  output: { rtmpUrl: null, ladder: false },
  desired: 'live',
  startRevision: 1,
  createdAt: '2026-12-06T12:00:00.000Z',
  updatedAt: '2026-12-06T12:00:00.000Z',
  ...changes,
});
const live = (at: StreamSpec, changes: Partial<JobFacts> = {}): JobFacts => ({
  spec: at,
  status: 'live',
  running: true,
  launches: [],
  ...changes,
});
const NOW = 1_000_000;
const plan = (job: JobFacts | null, next: StreamSpec, held: number | null = null) =>
  planRevision(job, next, held, NOW, 3);

describe('the mix job’s decisions', () => {
  it('ignores a revision it has, or one older than a change held back', () => {
    expect(plan(live(spec(4)), spec(4))).toEqual({ kind: 'ignore' });
    expect(plan(live(spec(4)), spec(3))).toEqual({ kind: 'ignore' });
    expect(plan(live(spec(4)), spec(5), 6)).toEqual({ kind: 'ignore' });
  });

  it('stops for a room not to be live, whatever runs', () => {
    expect(plan(live(spec(1)), spec(2, { desired: 'stopped' }))).toEqual({ kind: 'stop' });
    expect(plan(null, spec(2, { desired: 'idle' }))).toEqual({ kind: 'stop' });
  });

  it('tries the running mix’s runtime commands for the same inputs and output, and only then', () => {
    const layout = spec(2, { layout: 'speaker', focus: 'red' });
    expect(plan(live(spec(1)), layout)).toEqual({ kind: 'try-live', replace: { beside: true, newRun: false } });
    // Not with a failed job, nor one whose ffmpeg is not running, nor another input or output.
    expect(plan(live(spec(1), { status: 'failed' }), layout).kind).toBe('replace');
    expect(plan(live(spec(1), { running: false }), layout).kind).toBe('replace');
    expect(plan(live(spec(1)), spec(2, { participants: [person('red'), person('blue')] })).kind).toBe('replace');
    expect(plan(live(spec(1)), spec(2, { output: { rtmpUrl: null, ladder: true } })).kind).toBe('replace');
  });

  it('replaces a live mix beside it, its RTMP push going on, but stops first one pushing elsewhere now or not on air yet', () => {
    const joined = (changes: Partial<StreamSpec> = {}) =>
      spec(2, { participants: [person('red'), person('blue')], ...changes });
    expect(plan(live(spec(1)), joined())).toEqual({ kind: 'replace', beside: true, newRun: false });
    const rtmp = { rtmpUrl: 'rtmp://ingest.example.com/app/key', ladder: false };
    expect(plan(live(spec(1, { output: rtmp })), joined({ output: rtmp }))).toMatchObject({ beside: true });
    const elsewhere = { rtmpUrl: 'rtmp://ingest.example.com/app/other', ladder: false };
    expect(plan(live(spec(1, { output: rtmp })), joined({ output: elsewhere }))).toMatchObject({ beside: false });
    expect(plan(live(spec(1)), joined({ output: rtmp }))).toMatchObject({ beside: false });
    expect(plan(live(spec(1), { status: 'starting' }), joined())).toMatchObject({ beside: false });
    // A room started again, or after it failed, is a new run (told `starting`); a first one too.
    expect(plan(live(spec(1)), joined({ startRevision: 2 }))).toMatchObject({ beside: false, newRun: true });
    expect(plan(live(spec(1), { status: 'failed' }), joined())).toMatchObject({ beside: false, newRun: true });
    expect(plan(null, spec(1))).toEqual({ kind: 'replace', beside: false, newRun: true });
  });

  it('holds a change that would restart the mix a fourth time in a minute, until the oldest start is a minute old', () => {
    const launches = [NOW - 50_000, NOW - 20_000, NOW - 1_000];
    const job = live(spec(1), { launches });
    const joined = spec(2, { participants: [person('red'), person('blue')] });
    expect(plan(job, joined)).toEqual({ kind: 'hold', waitMs: 10_000 });
    // A refused live change falls under the same limit.
    expect(afterLiveRefused(job, { beside: true, newRun: false }, NOW, 3)).toEqual({ kind: 'hold', waitMs: 10_000 });
    expect(restartWait(launches, NOW + 10_000, 3)).toBe(0);
    expect(restartWait([NOW - 70_000, ...launches], NOW, 3)).toBe(10_000);
    // More starts than the limit (crash restarts count too): wait for enough of them to age out.
    expect(restartWait([NOW - 50_000, NOW - 40_000, NOW - 20_000, NOW - 1_000], NOW, 3)).toBe(20_000);
  });

  it('restarts a crashed run after 0.5 s, 1 s, 2 s…, and fails it past MIX_MAX_RESTARTS', () => {
    expect([1, 2, 3].map((n) => afterExit(n, 3))).toEqual([
      { restartInMs: 500 },
      { restartInMs: 1_000 },
      { restartInMs: 2_000 },
    ]);
    expect(afterExit(4, 3)).toBe('fail');
    expect(afterExit(1, 0)).toBe('fail');
  });

  it('tries a dropped push again after 1 s, doubling up to 30 s, and fails it past MIX_PUSH_RETRIES', () => {
    expect([1, 2, 3, 6, 7].map((n) => afterPushFailure(n, 10))).toEqual(
      [1_000, 2_000, 4_000, 30_000, 30_000].map((retryInMs) => ({ retryInMs })),
    );
    expect(afterPushFailure(6, 5)).toBe('fail');
  });

  it('keeps a mix for the same run, inputs in order, output and ladder only', () => {
    const base = spec(1, { participants: [person('red'), person('blue')] });
    expect(sameMix(base, { ...base, revision: 2, layout: 'pip', focus: 'blue' })).toBe(true);
    expect(sameMix(base, { ...base, participants: [person('blue'), person('red')] })).toBe(false);
    expect(sameMix(base, { ...base, participants: [person('red'), person('blue', 'test:pattern')] })).toBe(false);
    expect(sameMix(base, { ...base, startRevision: 3 })).toBe(false);
  });
});
