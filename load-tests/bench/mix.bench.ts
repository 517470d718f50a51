/**
 * npm run bench:mix [-- --replicas 1,2,4 --cohosts 2 --size 1280x720 --fps 30 --preset veryfast
 *                      --max-rooms 16 --kills 5 --changes 3 --window 8]
 *
 * Live rooms on the real stack (gateway, Kafka, mix replicas of their own, ffmpeg), with
 * moving test cards and their tones as co-hosts, in three parts:
 * 1. Capacity, for each number of mix replicas: rooms of `--cohosts` co-hosts are opened
 *    one at a time until one of them falls below real time. A room's speed is the media
 *    its playlist gained over the wall-clock time between two segments being listed
 *    (1.00 = real time; the sources are paced in real time, so a mix that keeps up
 *    reads 1.00). Printed: the rooms every one of which ran at ≥ 0.95, the CPU the mix
 *    replicas and their ffmpegs used then, rooms per core of it, and how the rooms were
 *    spread over the replicas.
 * 2. Failover, with two replicas or more, at that many rooms: `--kills` times, the replica
 *    mixing a room is SIGKILLed; the time from the kill until every room it mixed has a
 *    segment of a new run listed in its playlist (p50 / max over the kills), and the
 *    discontinuities that cost. The replica is restarted and the rooms left to settle
 *    between kills.
 * 3. Changes, on one replica, in a room of three co-hosts pushing to an RTMP ingest: layout,
 *    volume, mute (applied to the running mix), a co-host joining and one leaving (a new run
 *    beside the one on air), each `--changes` times: from the request's 202 to the first
 *    segment that shows it being listed, the playlist discontinuities each caused, and for a
 *    new run how long from its start until the push went on from it, at its first keyframe
 *    (`mesh_mix_push_switch_seconds`; the HLS goes on to it a segment later).
 *    The ingest (ffmpeg listening) counts the times its publisher left: 0 when the push
 *    went on across every run.
 */
import { MeshClient } from '@mesh/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ALL_BUT_MIX,
  cpuSeconds,
  discontinuitiesAfter,
  eventually,
  freePort,
  metricValue,
  mixProcesses,
  playlistEntries,
  playlistSegments,
  startProcess,
  startStack,
  waitForHttp,
  type RunningProcess,
  type RunningStack,
} from '@mesh/harness';
import { LiveRoomFleet } from '../chaos/live-rooms';
import { percentile } from './figures';

const { values } = parseArgs({
  options: {
    replicas: { type: 'string', default: '1,2,4' },
    cohosts: { type: 'string', default: '2' },
    size: { type: 'string', default: '1280x720' },
    fps: { type: 'string', default: '30' },
    preset: { type: 'string', default: process.env.MIX_X264_PRESET ?? 'veryfast' },
    'max-rooms': { type: 'string', default: '16' },
    kills: { type: 'string', default: '5' },
    changes: { type: 'string', default: '3' },
    window: { type: 'string', default: '8' },
  },
});
const COHOSTS = Number(values.cohosts);
const WINDOW_MS = Number(values.window) * 1000;
/** A room keeps up while its playlist gains at least this much media per second of wall-clock time. */
const REAL_TIME = 0.95;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const p50 = (all: number[]) =>
  percentile(
    [...all].sort((a, b) => a - b),
    50,
  );
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Replicas {
  stack: RunningStack;
  fleet: LiveRoomFleet;
  replicas: RunningProcess[];
  metricsUrls: string[];
  start(i: number): Promise<void>;
}

/** A stack whose functions process runs all but the mix, and `n` mix replicas of their own. */
async function withReplicas<T>(n: number, body: (r: Replicas) => Promise<T>): Promise<T> {
  const hlsDir = mkdtempSync(join(tmpdir(), 'mesh-bench-mix-'));
  const stack = await startStack({
    LOG_LEVEL: 'error',
    FUNCTIONS: ALL_BUT_MIX,
    MIX_TEST_SOURCES: '1',
    MIX_HLS_DIR: hlsDir,
    MIX_OUTPUT_SIZE: values.size,
    MIX_FPS: values.fps,
    MIX_X264_PRESET: values.preset,
    MIX_MAX_ROOMS: '1000',
    // The changes' room pushes to a local ingest.
    MIX_OUTPUT_HOSTS: '127.0.0.1:*',
  });
  const replicas: RunningProcess[] = [];
  const metricsUrls: string[] = [];
  const start = async (i: number) => {
    const port = await freePort();
    replicas[i] = startProcess(`mix-${i}`, 'apps/functions/src/main.js', {
      ...stack.env,
      FUNCTIONS: 'mix',
      FUNCTIONS_PORT: String(port),
    });
    metricsUrls[i] = `http://127.0.0.1:${port}/metrics`;
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, replicas[i]);
  };
  const inputs = () => Array.from({ length: COHOSTS }, () => 'test:pattern');
  const fleet = new LiveRoomFleet(stack.baseUrl, hlsDir, (sub) => stack.token(sub, ['host']), inputs);
  try {
    await Promise.all(Array.from({ length: n }, (_, i) => start(i)));
    return await body({ stack, fleet, replicas, metricsUrls, start });
  } finally {
    await fleet.close();
    await Promise.all(replicas.map((p) => p.stop('SIGKILL')));
    await stack.stop();
    rmSync(hlsDir, { recursive: true, force: true });
  }
}

/**
 * Each room's speed over the window (media its playlist gained between the first and the
 * last segment listed in it, over the wall-clock time between those two listings) and
 * the CPU the replicas and the rooms' ffmpegs used, in cores.
 */
async function measure(r: Replicas): Promise<{ speeds: number[]; cores: number }> {
  const pids = [...r.replicas.map((p) => p.child.pid!), ...r.fleet.rooms.flatMap((room) => mixProcesses(room.id))];
  const cpu0 = pids.map((pid) => cpuSeconds(pid));
  const t0 = Date.now();
  /** Per room, each segment as it was first seen listed: when, and the media listed up to its end. */
  const listings = r.fleet.rooms.map(() => new Map<string, { atMs: number; mediaS: number }>());
  const media = r.fleet.rooms.map(() => 0);
  while (Date.now() - t0 < WINDOW_MS) {
    await Promise.all(
      r.fleet.rooms.map(async (room, i) => {
        for (const { name, duration } of playlistEntries(await r.fleet.playlist(room.id))) {
          if (listings[i]!.has(name)) continue;
          media[i]! += duration;
          listings[i]!.set(name, { atMs: Date.now(), mediaS: media[i]! });
        }
      }),
    );
    await sleep(50);
  }
  const elapsedS = (Date.now() - t0) / 1000;
  const cores =
    pids.reduce((sum, pid, i) => sum + Math.max(0, (cpuSeconds(pid) ?? cpu0[i] ?? 0) - (cpu0[i] ?? 0)), 0) / elapsedS;
  const speeds = listings.map((seen) => {
    // The first look lists what was there already: it is where the count starts, not a listing.
    const listed = [...seen.values()].filter(({ atMs }) => atMs - t0 > 100);
    const [first, last] = [listed[0], listed.at(-1)];
    if (!first || !last || last === first) return 0;
    return (last.mediaS - first.mediaS) / ((last.atMs - first.atMs) / 1000);
  });
  return { speeds, cores };
}

interface Capacity {
  replicas: number;
  rooms: number;
  cores: number;
  spread: number[];
  slowest: number;
}

async function capacity(r: Replicas): Promise<Capacity> {
  const max = Number(values['max-rooms']);
  let kept: Capacity = { replicas: r.replicas.length, rooms: 0, cores: 0, spread: [], slowest: NaN };
  while (r.fleet.rooms.length < max) {
    await r.fleet.open(1);
    await sleep(2_000);
    const { speeds, cores } = await measure(r);
    const slowest = Math.min(...speeds);
    const spread = r.replicas.map((p) => r.fleet.mixers().filter((pid) => pid === p.child.pid).length);
    log(
      `  ${r.fleet.rooms.length} rooms: slowest ${slowest.toFixed(2)}x, mean ` +
        `${(speeds.reduce((a, b) => a + b, 0) / speeds.length).toFixed(2)}x, ${cores.toFixed(2)} cores, ` +
        `per replica ${spread.join('/')}`,
    );
    if (slowest < REAL_TIME) {
      // Back to what kept up, for what follows.
      await r.fleet.closeLast();
      break;
    }
    kept = { replicas: r.replicas.length, rooms: r.fleet.rooms.length, cores, spread, slowest };
  }
  return kept;
}

interface Failover {
  /** Per kill: the time until the last of its rooms was on air again; null when one never was. */
  allBackMs: (number | null)[];
  moved: number[];
  mostDiscontinuities: number;
}

async function failover(r: Replicas): Promise<Failover> {
  const result: Failover = { allBackMs: [], moved: [], mostDiscontinuities: 0 };
  for (let k = 0; k < Number(values.kills); k++) {
    await r.fleet.settled(60_000);
    const room = r.fleet.rooms[k % r.fleet.rooms.length]!;
    const pid = await r.fleet.mixerOf(room);
    const i = r.replicas.findIndex((p) => p.child.pid === pid);
    const killed = await r.fleet.killReplica(pid, () => r.replicas[i]!.stop('SIGKILL'));
    const allBack = killed.back === killed.moved ? Math.max(...killed.backMs) : null;
    result.allBackMs.push(allBack);
    result.moved.push(killed.moved);
    result.mostDiscontinuities = Math.max(result.mostDiscontinuities, killed.mostDiscontinuities);
    log(
      `  kill ${k + 1}: ${killed.moved} rooms moved, all on air again ${allBack === null ? 'NOT' : s(allBack)} ` +
        `(each: ${killed.backMs.map(s).join(', ')}), discontinuities ≤ ${killed.mostDiscontinuities}`,
    );
    await r.start(i);
  }
  return result;
}

type ChangeKind = 'layout' | 'volume' | 'mute' | 'join' | 'leave';
const LIVE_KINDS: readonly ChangeKind[] = ['layout', 'volume', 'mute'];

interface ChangeRow {
  kind: ChangeKind;
  visibleMs: number[];
  discontinuities: number[];
  /** A new run's: from its start to the push going on from it (its first keyframe). */
  pushWaitMs: number[];
}

/**
 * An RTMP ingest (ffmpeg listening, the media thrown away) that takes one publisher at a
 * time and is started again when its publisher leaves; `left` counts those times.
 */
function ingest(url: string): { left: number; close(): void } {
  let child: ChildProcess | null = null;
  const state = {
    left: 0,
    close: () => {
      const last = child;
      child = null;
      last?.kill('SIGKILL');
    },
  };
  const listen = () => {
    const started = spawn(
      process.env.FFMPEG_PATH ?? 'ffmpeg',
      ['-v', 'error', '-listen', '1', '-timeout', '600', '-i', url, '-c', 'copy', '-f', 'null', '-'],
      { stdio: 'ignore' },
    );
    child = started;
    started.once('exit', () => {
      if (child !== started) return;
      state.left += 1;
      listen();
    });
  };
  listen();
  return state;
}

/** One room of three co-hosts on the first replica: each kind of change, timed from its 202 to being seen. */
async function changes(r: Replicas): Promise<ChangeRow[]> {
  const token = await r.stack.token('bench-changes-host', ['host']);
  const host = new MeshClient({ baseUrl: r.stack.baseUrl, token, retry: { attempts: 0 } });
  const rtmpUrl = `rtmp://127.0.0.1:${await freePort()}/live/bench`;
  const cdn = ingest(rtmpUrl);
  let view = await host.streams.create({ title: 'bench changes', output: { rtmpUrl } });
  for (let i = 0; i < 3; i++)
    view = await host.streams.setParticipant(view.id, `cohost-${i}`, { inputUrl: 'test:pattern' });
  await host.streams.start(view.id);
  const id = view.id;
  const playlist = () => r.fleet.playlist(id);
  await eventually(
    async () => {
      if (playlistSegments(await playlist()).length < 3) throw new Error('not live yet');
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  await eventually(
    async () => {
      if ((await host.streams.get(id)).output.push?.state !== 'connected') throw new Error('not pushing yet');
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const metric = async (name: string, labels?: Record<string, string>) =>
    metricValue(await (await fetch(r.metricsUrls[0]!)).text(), name, labels);
  const liveChanges = () => metric('mesh_mix_switch_seconds_count', { how: 'live' });
  const pushSwitches = async () => ({
    count: await metric('mesh_mix_push_switch_seconds_count'),
    sum: await metric('mesh_mix_push_switch_seconds_sum'),
  });
  const rows: ChangeRow[] = (['layout', 'volume', 'mute', 'join', 'leave'] as const).map((kind) => ({
    kind,
    visibleMs: [],
    discontinuities: [],
    pushWaitMs: [],
  }));
  const make = (kind: ChangeKind, k: number) => {
    switch (kind) {
      case 'layout':
        return host.streams.setLayout(id, k % 2 === 0 ? { layout: 'speaker', focus: 'cohost-1' } : { layout: 'grid' });
      case 'volume':
        return host.streams.setParticipant(id, 'cohost-0', { inputUrl: 'test:pattern', volume: k % 2 ? 1 : 0.5 });
      case 'mute':
        return host.streams.setParticipant(id, 'cohost-1', { inputUrl: 'test:pattern', muted: k % 2 === 0 });
      case 'join':
        return host.streams.setParticipant(id, 'guest', { inputUrl: 'test:pattern' });
      case 'leave':
        return host.streams.removeParticipant(id, 'guest');
    }
  };
  try {
    for (let k = 0; k < Number(values.changes); k++) {
      for (const row of rows) {
        const seen = playlistSegments(await playlist());
        const liveBefore = await liveChanges();
        const switchesBefore = await pushSwitches();
        const changed = await make(row.kind, k);
        const answeredAt = Date.now();
        let shows: (names: string[]) => boolean;
        if (LIVE_KINDS.includes(row.kind)) {
          // Taken by the running mix: the first segment listed after that has it.
          await eventually(
            async () => {
              if ((await liveChanges()) <= liveBefore) throw new Error('not taken yet');
            },
            { timeoutMs: 30_000, intervalMs: 10 },
          );
          const atTaken = playlistSegments(await playlist());
          shows = (names) => names.some((name) => !atTaken.includes(name));
        } else {
          // Made by the run of its revision.
          shows = (names) => names.some((name) => name.startsWith(`r${changed.revision}-`));
        }
        const text = await eventually(
          async () => {
            const now = await playlist();
            if (!shows(playlistSegments(now))) throw new Error('not visible yet');
            return now;
          },
          { timeoutMs: 30_000, intervalMs: 10 },
        );
        row.visibleMs.push(Date.now() - answeredAt);
        row.discontinuities.push(discontinuitiesAfter(text, seen));
        if (!LIVE_KINDS.includes(row.kind)) {
          const switched = await eventually(
            async () => {
              const now = await pushSwitches();
              if (now.count <= switchesBefore.count) throw new Error('the push has not gone on to the new run yet');
              return now;
            },
            { timeoutMs: 10_000, intervalMs: 50 },
          );
          row.pushWaitMs.push((switched.sum - switchesBefore.sum) * 1000);
        }
        await sleep(2_500);
      }
    }
    log(`the ingest saw its publisher leave ${cdn.left} time(s) over every change`);
  } finally {
    await host.streams.stop(id).catch(() => undefined);
    cdn.close();
  }
  return rows;
}

async function main(): Promise<void> {
  const counts = values.replicas.split(',').map(Number);
  const capacities: Capacity[] = [];
  const failovers: { replicas: number; figures: Failover }[] = [];
  let changeRows: ChangeRow[] = [];
  for (const n of counts) {
    log(`${n} mix replica(s), rooms of ${COHOSTS} co-hosts at ${values.size}@${values.fps} (${values.preset}):`);
    await withReplicas(n, async (r) => {
      capacities.push(await capacity(r));
      if (n >= 2 && r.fleet.rooms.length > 0) failovers.push({ replicas: n, figures: await failover(r) });
      if (n === 1) {
        await r.fleet.close();
        changeRows = await changes(r);
      }
    });
  }
  const machineCores = cpus().length;
  log(
    `\n| mix replicas | rooms at real time | slowest | CPU (cores) | rooms per core used | rooms per machine core | per replica |`,
  );
  log(`| --- | --- | --- | --- | --- | --- | --- |`);
  for (const c of capacities)
    log(
      `| ${c.replicas} | ${c.rooms} | ${c.slowest.toFixed(2)}x | ${c.cores.toFixed(2)} | ` +
        `${(c.rooms / c.cores).toFixed(1)} | ${(c.rooms / machineCores).toFixed(1)} | ${c.spread.join('/')} |`,
    );
  if (failovers.length > 0) {
    log(`\n| mix replicas | kills | rooms moved per kill | all back p50 | all back max | discontinuities (most) |`);
    log(`| --- | --- | --- | --- | --- | --- |`);
    for (const { replicas, figures } of failovers) {
      const back = figures.allBackMs.filter((ms): ms is number => ms !== null);
      const lost = figures.allBackMs.length - back.length;
      log(
        `| ${replicas} | ${figures.allBackMs.length} | ${figures.moved.join(', ')} | ${s(p50(back))} | ` +
          `${lost > 0 ? `${lost} never back` : s(Math.max(...back))} | ${figures.mostDiscontinuities} |`,
      );
    }
  }
  if (changeRows.length > 0) {
    log(
      `\n| change | 202 → visible p50 | max | discontinuities per change | new run started → the push on it (p50 / max) |`,
    );
    log(`| --- | --- | --- | --- | --- |`);
    for (const row of changeRows)
      log(
        `| ${row.kind} | ${s(p50(row.visibleMs))} | ${s(Math.max(...row.visibleMs))} | ${row.discontinuities.join(', ')} | ` +
          `${row.pushWaitMs.length > 0 ? `${s(p50(row.pushWaitMs))} / ${s(Math.max(...row.pushWaitMs))}` : '—'} |`,
      );
  }
  log(
    JSON.stringify({
      size: values.size,
      fps: Number(values.fps),
      preset: values.preset,
      capacities,
      failovers,
      changeRows,
    }),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:mix failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
