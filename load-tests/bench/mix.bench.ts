/**
 * npm run bench:mix [-- --inputs 1,4,9 --size 1280x720 --fps 30 --seconds 10 --switches 3]
 *
 * The live-room mix on the real stack (gateway, Kafka, the mix function, ffmpeg),
 * for each number of co-hosts (moving `test:pattern` sources, 48 kHz tones):
 * - speed: ffmpeg's own encoding speed (1.0x = real time; sources are paced in
 *   real time, so a mix that keeps up reads about 1.0x and one that cannot, less);
 * - CPU: the ffmpeg process's CPU time over the window, as a share of one core;
 * - changes (layout switches and volume changes, alternately): from the request being
 *   sent to the running ffmpeg taking it (`taken`), and to the first HLS segment made
 *   after it being listed in the playlist the gateway serves (`visible`: what a player
 *   sees), with the playlist discontinuities each change caused (0: players carry on)
 *   and whether the mix had to restart for it.
 */
import { MeshClient } from '@mesh/client';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { eventually } from '@mesh/harness';
import { discontinuitiesAfter, mixProcesses, playlistSegments } from '@mesh/harness';
import { cpuSeconds } from '@mesh/harness';
import { metricValue, startStack } from '@mesh/harness';
import { percentile } from './figures';

const { values } = parseArgs({
  options: {
    inputs: { type: 'string', default: '1,4,9' },
    size: { type: 'string', default: '1280x720' },
    fps: { type: 'string', default: '30' },
    seconds: { type: 'string', default: '10' },
    switches: { type: 'string', default: '3' },
    preset: { type: 'string', default: process.env.MIX_X264_PRESET ?? 'veryfast' },
  },
});
const WINDOW_S = Number(values.seconds);

interface Row {
  inputs: number;
  speed: number;
  cpuPctOfOneCore: number;
  takenMs: { p50: number; max: number; all: number[] };
  visibleMs: { p50: number; max: number; all: number[] };
  discontinuitiesPerChange: number[];
  restarts: number;
}

const spread = (all: number[]) => {
  const sorted = [...all].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), max: sorted.at(-1) ?? NaN, all };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const stack = await startStack({
    LOG_LEVEL: 'error',
    MIX_TEST_SOURCES: '1',
    MIX_HLS_DIR: mkdtempSync(join(tmpdir(), 'mesh-bench-live-')),
    MIX_OUTPUT_SIZE: values.size,
    MIX_FPS: values.fps,
    MIX_X264_PRESET: values.preset,
  });
  const hostId = 'bench-host';
  // No retries: a layout switch is timed from its one request.
  const host = new MeshClient({
    baseUrl: stack.baseUrl,
    token: await stack.token(hostId, ['host']),
    retry: { attempts: 0 },
  });
  const rows: Row[] = [];
  try {
    for (const n of values.inputs.split(',').map(Number)) {
      let view = await host.streams.create({ title: `bench ${n}` });
      for (let i = 0; i < n; i++) {
        // Volume and mute as the API defaults them.
        view = await host.streams.setParticipant(view.id, `cohost-${i}`, {
          inputUrl: 'test:pattern',
          volume: 1,
          muted: false,
        });
      }
      const started = await host.streams.start(view.id);
      const id = view.id;
      const playlistText = async () => {
        const res = await fetch(`${stack.baseUrl}${started.output.hlsUrl ?? ''}`);
        return res.status === 200 ? res.text() : '';
      };
      const playlist = async () => playlistSegments(await playlistText());
      await eventually(
        async () => {
          if ((await playlist()).length < 2) throw new Error('not live yet');
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );

      // Steady state: CPU over the window, speed sampled each second.
      const [pid] = mixProcesses(id);
      if (pid === undefined) throw new Error('no ffmpeg for the stream');
      const cpu0 = cpuSeconds(pid) ?? 0;
      const t0 = Date.now();
      const speeds: number[] = [];
      // One room mixes at a time here: the speeds reported in a second are its own.
      const reported = async () => {
        const page = await (await fetch(`${stack.functionsUrl}/metrics`)).text();
        return {
          sum: metricValue(page, 'mesh_mix_speed_sum'),
          count: metricValue(page, 'mesh_mix_speed_count'),
          live: metricValue(page, 'mesh_mix_switch_seconds_count', { how: 'live' }),
          restarts: metricValue(page, 'mesh_mix_switch_seconds_count', { how: 'restart' }),
        };
      };
      let seen = await reported();
      for (let s = 0; s < WINDOW_S; s++) {
        await sleep(1_000);
        const now = await reported();
        if (now.count > seen.count) speeds.push((now.sum - seen.sum) / (now.count - seen.count));
        seen = now;
      }
      const cpuPct = (((cpuSeconds(pid) ?? cpu0) - cpu0) / ((Date.now() - t0) / 1000)) * 100;

      // Changes: request sent → taken by the running mix → the first segment made after it listed.
      const taken: number[] = [];
      const visible: number[] = [];
      const discontinuities: number[] = [];
      const restartsBefore = (await reported()).restarts;
      for (let k = 0; k < Number(values.switches); k++) {
        const before = await reported();
        const seenBefore = await playlist();
        const sent = Date.now();
        if (k % 2 === 0) await host.streams.setLayout(id, { layout: k % 4 === 0 ? 'speaker' : 'grid' });
        else
          await host.streams.setParticipant(id, 'cohost-0', {
            inputUrl: 'test:pattern',
            volume: k % 4 === 1 ? 0.5 : 1,
          });
        await eventually(
          async () => {
            const now = await reported();
            if (now.live + now.restarts <= before.live + before.restarts) throw new Error('not taken yet');
          },
          { timeoutMs: 30_000, intervalMs: 10 },
        );
        taken.push(Date.now() - sent);
        const seenAtTaken = await playlist();
        await eventually(
          async () => {
            if ((await playlist()).every((name) => seenAtTaken.includes(name))) throw new Error('no new segment yet');
          },
          { timeoutMs: 30_000, intervalMs: 25 },
        );
        visible.push(Date.now() - sent);
        discontinuities.push(discontinuitiesAfter(await playlistText(), seenBefore));
        await sleep(2_000);
      }
      const restarts = (await reported()).restarts - restartsBefore;
      await host.streams.stop(id);
      const row: Row = {
        inputs: n,
        speed: speeds.length ? speeds.reduce((a, b) => a + b, 0) / speeds.length : NaN,
        cpuPctOfOneCore: cpuPct,
        takenMs: spread(taken),
        visibleMs: spread(visible),
        discontinuitiesPerChange: discontinuities,
        restarts,
      };
      rows.push(row);
      process.stdout.write(
        `${n} input(s) ${values.size}@${values.fps} (${values.preset}): speed ${row.speed.toFixed(2)}x, ` +
          `CPU ${row.cpuPctOfOneCore.toFixed(0)}% of one core; a change taken p50 ${row.takenMs.p50} ms / max ${row.takenMs.max} ms, ` +
          `visible p50 ${row.visibleMs.p50} ms / max ${row.visibleMs.max} ms, ` +
          `discontinuities ${row.discontinuitiesPerChange.join(',')}, restarts ${row.restarts}\n`,
      );
    }
  } finally {
    await stack.stop();
  }
  process.stdout.write(
    `${JSON.stringify({ size: values.size, fps: Number(values.fps), preset: values.preset, rows })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:mix failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
