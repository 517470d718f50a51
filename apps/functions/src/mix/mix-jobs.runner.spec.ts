import { AppConfig } from '@mesh/config';
import type { PushState, StreamSpec } from '@mesh/contracts';
import { silentLogger } from '@mesh/harness';
import { Metrics } from '@mesh/telemetry';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLAYLIST } from './ffmpeg-command';
import { MixJobs, type JobStatus } from './mix-jobs';
import { FakeControl, FakeRunner, settled, until, type FakeChild } from './mix.fakes';

const segmentPattern = (child: FakeChild) => child.args.find((arg) => arg.endsWith('-%d.ts'));

/** The participants of a room: the host, and a co-host per further colour. */
const people = (...colours: string[]): StreamSpec['participants'] =>
  colours.map((colour, i) => ({
    userId: i === 0 ? 'host-1' : `guest-${i}`,
    inputUrl: `test:color=${colour}`,
    volume: 1,
    muted: false,
  }));

const spec = (revision: number, changes: Partial<StreamSpec> = {}): StreamSpec => ({
  id: 'room-1',
  hostId: 'host-1',
  title: 'Lunch live',
  revision,
  layout: 'grid',
  focus: null,
  participants: [{ userId: 'host-1', inputUrl: 'test:color=red', volume: 1, muted: false }],
  output: { rtmpUrl: null, ladder: false },
  desired: 'live',
  startRevision: 1,
  createdAt: '2026-12-05T12:00:00.000Z',
  updatedAt: '2026-12-05T12:00:00.000Z',
  ...changes,
});

describe('MixJobs with a fake ffmpeg', () => {
  let hlsDir: string;
  let runner: FakeRunner;
  let control: FakeControl;
  let jobs: MixJobs;
  let reports: { revision: number; status: JobStatus; error: string | null; push: PushState | null }[];
  const statuses = () => reports.map((r) => r.status);

  beforeEach(async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    hlsDir = await mkdtemp(join(tmpdir(), 'mix-jobs-'));
    const config = AppConfig.fromEnv({
      JWT_SECRET: 'x'.repeat(32),
      MIX_TEST_SOURCES: '1',
      MIX_HLS_DIR: hlsDir,
      MIX_MAX_RESTARTS: '2',
      MIX_RESTARTS_PER_MIN: '3',
      MIX_OUTPUT_HOSTS: '127.0.0.1:*',
      MIX_PUSH_RETRIES: '1',
    });
    runner = new FakeRunner();
    control = new FakeControl();
    jobs = new MixJobs(config, new Metrics(), silentLogger, runner, control);
    reports = [];
    jobs.onReport((s, status, error, push) => reports.push({ revision: s.revision, status, error, push }));
  });
  afterEach(async () => {
    await jobs.onApplicationShutdown();
    jest.useRealTimers();
    await rm(hlsDir, { recursive: true, force: true });
  });

  const playlist = () => readFile(join(hlsDir, 'room-1', PLAYLIST), 'utf8');

  it("goes live once the run's first segment is in the playlist, and says so once", async () => {
    expect(await jobs.apply(spec(1))).toBe(true);
    expect(runner.runs).toHaveLength(1);
    expect(statuses()).toEqual(['starting']);

    // No segment yet: still starting, however long ffmpeg takes to open its inputs.
    await jest.advanceTimersByTimeAsync(1_000);
    await settled();
    expect(statuses()).toEqual(['starting']);
    await runner.run(1).writeSegment(0);
    await jest.advanceTimersByTimeAsync(200);
    await until(() => statuses().includes('live'), 'live');
    await runner.run(1).writeSegment(1);
    await jest.advanceTimersByTimeAsync(1_000);
    await settled();
    expect(statuses()).toEqual(['starting', 'live']);
  });

  it("restarts a crashed mix after 0.5 s, then 1 s, and fails with ffmpeg's reason once its restarts are spent", async () => {
    await jobs.apply(spec(1));
    await runner.run(1).writeSegment(0);
    runner.run(1).crash('[hls @ 0x1] Conversion failed!');
    await until(() => statuses().includes('restarting'), 'restarting');
    expect(reports.at(-1)).toEqual({
      revision: 1,
      status: 'restarting',
      error: 'ffmpeg exited with code 1: Conversion failed!',
      push: null,
    });

    await jest.advanceTimersByTimeAsync(499);
    await settled();
    expect(runner.runs).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    await until(() => runner.runs.length === 2, 'the first restart');

    runner.run(2).crash('Conversion failed!');
    await until(() => statuses().filter((s) => s === 'restarting').length === 2, 'restarting again');
    await jest.advanceTimersByTimeAsync(999);
    await settled();
    expect(runner.runs).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    await until(() => runner.runs.length === 3, 'the second restart');

    runner.run(3).crash('Conversion failed!');
    await until(() => statuses().includes('failed'), 'failed');
    expect(reports.at(-1)).toEqual({
      revision: 1,
      status: 'failed',
      error: 'ffmpeg exited with code 1: Conversion failed!',
      push: null,
    });
    // Players stop at the last segment; nothing is started again.
    await until(async () => (await playlist()).trimEnd().endsWith('#EXT-X-ENDLIST'), 'the playlist ended');
    await jest.advanceTimersByTimeAsync(60_000);
    await settled();
    expect(runner.runs).toHaveLength(3);
  });

  it('changes layout, focus, volume and mute in the running ffmpeg, with runtime commands and no restart', async () => {
    await jobs.apply(spec(1, { participants: people('red', 'blue') }));
    await runner.run(1).writeSegment(0);
    await jest.advanceTimersByTimeAsync(200);
    await until(() => statuses().includes('live'), 'live');

    const speaker = spec(2, { participants: people('red', 'blue'), layout: 'speaker', focus: 'guest-1' });
    expect(await jobs.apply(speaker)).toBe(true);
    const quieter = people('red', 'blue').map((p, i) => (i === 0 ? { ...p, muted: true } : { ...p, volume: 0.5 }));
    expect(await jobs.apply(spec(3, { participants: quieter, layout: 'speaker', focus: 'guest-1' }))).toBe(true);

    // One ffmpeg throughout, told where it listens, and sent what changed.
    expect(runner.runs).toHaveLength(1);
    expect(runner.run(1).signals).toEqual([]);
    expect(runner.run(1).args.join(' ')).toContain('zmq=bind_address=tcp\\\\\\://127.0.0.1\\\\\\:7000');
    expect(control.sent.map((s) => s.address)).toEqual(['tcp://127.0.0.1:7000', 'tcp://127.0.0.1:7000']);
    expect(control.sent[0]?.commands).toEqual(expect.arrayContaining(['scale@front1 w 1280']));
    expect(control.sent[1]?.commands).toEqual(['volume@a0 volume 0.00', 'volume@a1 volume 0.50']);
    // Each revision is reported as live as soon as the mix took it.
    expect(reports.slice(-2)).toEqual([
      { revision: 2, status: 'live', error: null, push: null },
      { revision: 3, status: 'live', error: null, push: null },
    ]);
  });

  it('restarts the mix for a co-host joining, or when the running ffmpeg does not take a change', async () => {
    await jobs.apply(spec(1, { participants: people('red') }));
    expect(await jobs.apply(spec(2, { participants: people('red', 'green') }))).toBe(true);
    expect(runner.run(1).signals).toEqual(['SIGTERM']);
    expect(runner.runs).toHaveLength(2);
    expect(control.sent).toEqual([]);

    control.refuse = true;
    expect(await jobs.apply(spec(3, { participants: people('red', 'green'), layout: 'pip' }))).toBe(true);
    expect(runner.run(2).signals).toEqual(['SIGTERM']);
    expect(runner.runs).toHaveLength(3);
    // A late or redelivered request for an earlier revision changes nothing.
    expect(await jobs.apply(spec(2, { participants: people('red', 'green') }))).toBe(false);
    expect(runner.runs).toHaveLength(3);
    expect(runner.run(3).ended).toBe(false);
  });

  it('puts a co-host who joins a live mix on air from a run beside it: the one on air stops only once it took over', async () => {
    await jobs.apply(spec(1, { participants: people('red') }));
    await runner.run(1).writeSegment(0, 0);
    await jest.advanceTimersByTimeAsync(100);
    await until(() => statuses().includes('live'), 'live');

    expect(await jobs.apply(spec(2, { participants: people('red', 'green') }))).toBe(true);
    expect(runner.runs).toHaveLength(2);
    // Still on air, and still said to be: nothing restarts for the viewers.
    expect(runner.run(1).signals).toEqual([]);
    expect(statuses()).toEqual(['starting', 'live']);

    await runner.run(1).writeSegment(1, 1);
    await runner.run(2).writeSegment(0, 1.6);
    await jest.advanceTimersByTimeAsync(100);
    await until(() => runner.run(1).signals.includes('SIGTERM'), 'the run before stopped');
    await until(() => reports.at(-1)?.revision === 2, 'the new revision reported');
    expect(reports.at(-1)).toEqual({ revision: 2, status: 'live', error: null, push: null });
    const text = await playlist();
    const names = text.split('\n').filter((line) => line.endsWith('.ts'));
    expect(names.map((name) => name.replace(/-\d{13,}-/, '-<run>-'))).toEqual([
      'r1-<run>-0.ts',
      'r1-<run>-1.ts',
      'r2-<run>-0.ts',
    ]);
    expect(text.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
    expect(runner.run(2).signals).toEqual([]);
  });

  it('a later change replaces a run that was still to take over; one that dies first takes the one on air with it', async () => {
    await jobs.apply(spec(1, { participants: people('red') }));
    await runner.run(1).writeSegment(0, 0);
    await jest.advanceTimersByTimeAsync(100);
    await until(() => statuses().includes('live'), 'live');

    await jobs.apply(spec(2, { participants: people('red', 'green') }));
    await jobs.apply(spec(3, { participants: people('red', 'green', 'blue') }));
    expect(runner.run(2).signals).toEqual(['SIGTERM']);
    expect(runner.run(1).signals).toEqual([]);
    expect(runner.runs).toHaveLength(3);

    runner.run(3).crash('[in#2] Conversion failed!');
    await until(() => statuses().includes('restarting'), 'restarting');
    expect(runner.run(1).signals).toEqual(['SIGTERM']);
    await jest.advanceTimersByTimeAsync(500);
    await until(() => runner.runs.length === 4, 'the restart');
    expect(segmentPattern(runner.run(4))).toMatch(/\/r3-\d+-%d\.ts$/);
  });

  const pushing = (revision: number, participants = people('red')) =>
    spec(revision, { participants, output: { rtmpUrl: 'rtmp://127.0.0.1:1935/live/secret-key', ladder: false } });
  const pushStates = () => reports.map((r) => r.push?.state ?? null);
  /** The room's pushers (remuxing to FLV for the ingest), and its mix runs. */
  const pushers = () => runner.runs.filter((r) => r.args.includes('flv'));
  const mixes = () => runner.runs.filter((r) => !r.args.includes('flv'));
  /** A pushing room on air: its pusher started, its first run's first segment out. */
  const pushingLive = async () => {
    await jobs.apply(pushing(1));
    expect(pushers()).toHaveLength(1);
    expect(pushers()[0]!.args.join(' ')).toMatch(
      /-f mpegts -i unix:\S+ .*-f flv rtmp:\/\/127\.0\.0\.1:1935\/live\/secret-key$/,
    );
    // The run writes its MPEG-TS to the relay, beside its HLS.
    expect(mixes()[0]!.args.at(-1)).toMatch(/\|\[f=mpegts:onfail=ignore\]unix:\S+\.sock$/);
    await mixes()[0]!.writeSegment(0, 0);
    await jest.advanceTimersByTimeAsync(100);
    await until(() => statuses().includes('live'), 'live');
  };
  /** As ffmpeg ends when the ingest refuses it: its last line names the URL, then the cause. */
  const dropPush = (pusher: FakeChild) =>
    pusher.crash('[out#0/flv @ 0x1] Error opening output rtmp://127.0.0.1:1935/live/secret-key: Connection refused');

  it("keeps one pusher for a pushing room across its runs: a co-host's run beside takes over, the push goes on", async () => {
    await pushingLive();
    expect(pushStates()).toEqual(['connecting', 'connecting']);
    // `-progress`: the pusher wrote to the ingest.
    pushers()[0]!.print('total_size=4096\nprogress=continue\n');
    await until(() => pushStates().at(-1) === 'connected', 'connected');

    await jobs.apply(pushing(2, people('red', 'blue')));
    expect(mixes()).toHaveLength(2);
    await mixes()[0]!.writeSegment(1, 1);
    await mixes()[1]!.writeSegment(0, 1.6);
    await jest.advanceTimersByTimeAsync(100);
    await until(() => reports.at(-1)?.revision === 2 && reports.at(-1)?.status === 'live', 'the run beside on air');
    // The run before goes on feeding the push until the new one's next keyframe (these fakes send none: its wait, 3 s).
    expect(mixes()[0]!.signals).toEqual([]);
    await jest.advanceTimersByTimeAsync(3_000);
    await until(() => mixes()[0]!.signals.includes('SIGTERM'), 'the run before stopped');
    expect(pushers()).toHaveLength(1);
    expect(pushers()[0]!.signals).toEqual([]);
    expect(reports.at(-1)).toEqual({
      revision: 2,
      status: 'live',
      error: null,
      push: { state: 'connected', error: null },
    });

    // The room stops: its pusher too (the ingest sees the publisher end).
    await jobs.apply({ ...pushing(3, people('red', 'blue')), desired: 'stopped' });
    expect(pushers()[0]!.signals).toEqual(['SIGTERM']);
  });

  it('tries a dropped push again after a second with a new pusher, the mix untouched, and says why without the stream key', async () => {
    await pushingLive();
    dropPush(pushers()[0]!);
    await until(() => pushStates().at(-1) === 'retrying', 'retrying');
    expect(reports.at(-1)).toEqual({
      revision: 1,
      status: 'live',
      error: null,
      push: { state: 'retrying', error: 'Connection refused' },
    });
    await jest.advanceTimersByTimeAsync(999);
    await settled();
    expect(pushers()).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    await until(() => pushers().length === 2, 'the push tried again');
    pushers()[1]!.print('total_size=188\n');
    await until(() => pushStates().at(-1) === 'connected', 'connected');
    expect(mixes()).toHaveLength(1);
    expect(mixes()[0]!.signals).toEqual([]);
  });

  it('gives a push up once MIX_PUSH_RETRIES are spent, the HLS going on, and tries again with the next co-host change', async () => {
    await pushingLive();
    dropPush(pushers()[0]!);
    await until(() => pushStates().at(-1) === 'retrying', 'retrying');
    await jest.advanceTimersByTimeAsync(1_000);
    await until(() => pushers().length === 2, 'the push tried again');
    dropPush(pushers()[1]!);
    await until(() => pushStates().at(-1) === 'failed', 'failed');
    expect(reports.at(-1)).toEqual({
      revision: 1,
      status: 'live',
      error: null,
      push: { state: 'failed', error: 'Connection refused' },
    });
    await jest.advanceTimersByTimeAsync(60_000);
    await settled();
    expect(pushers()).toHaveLength(2);
    expect(mixes()[0]!.ended).toBe(false);

    await jobs.apply(pushing(2, people('red', 'blue')));
    await until(() => pushers().length === 3, 'the push tried afresh');
    expect(reports.at(-1)?.push).toEqual({ state: 'connecting', error: null });
    expect(mixes()).toHaveLength(2);
  });

  it('a run that cannot take over fails the room: the one on air stops too, and players are told the end', async () => {
    await jobs.apply(spec(1, { participants: people('red') }));
    await runner.run(1).writeSegment(0, 0);
    await jest.advanceTimersByTimeAsync(100);
    await until(() => statuses().includes('live'), 'live');
    const refused = [
      ...people('red'),
      { userId: 'guest-9', inputUrl: 'rtmp://10.0.0.9/live/cam', volume: 1, muted: false },
    ];
    await jobs.apply(spec(2, { participants: refused }));
    expect(runner.runs).toHaveLength(1);
    expect(reports.at(-1)).toMatchObject({ revision: 2, status: 'failed', error: expect.stringContaining('guest-9') });
    await until(() => runner.run(1).signals.includes('SIGTERM'), 'the run on air stopped');
    await until(async () => (await playlist()).trimEnd().endsWith('#EXT-X-ENDLIST'), 'the playlist ended');
  });

  it('holds changes past MIX_RESTARTS_PER_MIN and applies only the latest once the minute allows', async () => {
    // Co-hosts joining: each a new input, so a restart.
    await jobs.apply(spec(1, { participants: people('red') }));
    await jobs.apply(spec(2, { participants: people('red', 'green') }));
    await jobs.apply(spec(3, { participants: people('red', 'green', 'blue') }));
    expect(runner.runs).toHaveLength(3);

    // The fourth and fifth changes within the minute wait; the mix goes on as it is.
    expect(await jobs.apply(spec(4, { participants: people('red', 'green', 'blue', 'yellow') }))).toBe(false);
    expect(await jobs.apply(spec(5, { participants: people('red', 'blue') }))).toBe(false);
    expect(runner.runs).toHaveLength(3);
    expect(runner.run(3).ended).toBe(false);

    await jest.advanceTimersByTimeAsync(60_000);
    await until(() => runner.runs.length === 4, 'the held change applied');
    await jest.advanceTimersByTimeAsync(60_000);
    await settled();
    expect(runner.runs).toHaveLength(4);
    // Its segments are named by the revision they were mixed from: the fifth, not the fourth.
    expect(segmentPattern(runner.run(4))).toMatch(/\/r5-\d+-%d\.ts$/);
  });

  it('stops: ffmpeg ended, the playlist marked ended, the stream reported stopped', async () => {
    await jobs.apply(spec(1));
    await runner.run(1).writeSegment(0);

    expect(await jobs.apply(spec(2, { desired: 'stopped' }))).toBe(true);
    expect(runner.run(1).signals).toEqual(['SIGTERM']);
    expect(statuses().at(-1)).toBe('stopped');
    expect((await playlist()).trimEnd()).toMatch(/#EXT-X-ENDLIST$/);
  });
});
