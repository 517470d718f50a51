/** Test doubles of the mixer's ports (ffmpeg processes, runtime commands), for its small tests. */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MixControl } from './mix-control';
import { ProcessRunner, type ChildExit, type ChildRun } from './process-runner';

/** A child process a test plays: it says what the test makes it say, and ends when told or killed. */
export class FakeChild implements ChildRun {
  readonly signals: NodeJS.Signals[] = [];
  readonly exited: Promise<ChildExit>;
  private done = false;
  private readonly stderr: ((chunk: string) => void)[] = [];
  private readonly stdout: ((chunk: string) => void)[] = [];
  private resolveExit: (exit: ChildExit) => void = () => undefined;

  constructor(readonly args: readonly string[]) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get ended(): boolean {
    return this.done;
  }

  onStdout(listener: (chunk: string) => void): void {
    this.stdout.push(listener);
  }

  /** Output on its standard output (ffmpeg's `-progress`). */
  print(text: string): void {
    for (const listener of this.stdout) listener(text);
  }

  onStderr(listener: (chunk: string) => void): void {
    this.stderr.push(listener);
  }

  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    this.exit(null, signal);
  }

  /** A line on its error output, as it goes on. */
  say(line: string): void {
    for (const listener of this.stderr) listener(`${line}\n`);
  }

  /** Its last words, then its end. */
  crash(line: string): void {
    this.say(line);
    this.exit(1);
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.done) return;
    this.done = true;
    this.resolveExit({ code, signal });
  }

  /**
   * As ffmpeg does once a segment is written: the run's own playlist lists it, named by the
   * run's prefix, starting `startS` seconds into the test (the publisher cuts between runs by it).
   */
  async writeSegment(n: number, startS = n): Promise<void> {
    // An argument of its own, or inside the tee muxer's output list (with an RTMP push).
    const pattern = /(\/[^\s\]|:]+)-%d\.ts/.exec(this.args.join(' '))?.[1];
    if (!pattern) throw new Error('not an HLS mix: no segment file pattern');
    const dir = pattern.slice(0, pattern.lastIndexOf('/'));
    const prefix = pattern.slice(dir.length + 1);
    const start = new Date(Date.parse('2026-12-06T12:00:00.000Z') + startS * 1000).toISOString();
    await appendFile(
      join(dir, `${prefix}.m3u8`),
      `#EXTINF:1.0,\n#EXT-X-PROGRAM-DATE-TIME:${start}\n${prefix}-${n}.ts\n`,
    );
  }
}

/** Every process started, in order, for the test to drive. */
export class FakeRunner extends ProcessRunner {
  readonly runs: FakeChild[] = [];

  start(_command: string, args: readonly string[]): ChildRun {
    const child = new FakeChild(args);
    this.runs.push(child);
    return child;
  }

  run(n: number): FakeChild {
    const child = this.runs[n - 1];
    if (!child) throw new Error(`run ${n} was not started; ${this.runs.length} were`);
    return child;
  }
}

/** The commands each mix was sent, by its address; refuses them all when told to. */
export class FakeControl extends MixControl {
  readonly sent: { address: string; commands: readonly string[] }[] = [];
  refuse = false;
  private next = 0;

  address(): Promise<string> {
    return Promise.resolve(`tcp://127.0.0.1:${7000 + this.next++}`);
  }

  send(address: string, commands: readonly string[]): Promise<void> {
    if (this.refuse) return Promise.reject(new Error('no answer'));
    this.sent.push({ address, commands });
    return Promise.resolve();
  }
}

/**
 * Lets file I/O and promises run while the timers stand still: the job's
 * playlist and directory work is real, only time is the test's.
 */
export async function until(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  // A deadline on the real clock (the test's timers and Date are fake): a loaded machine's file I/O may take a while.
  const deadline = process.hrtime.bigint() + 10_000_000_000n;
  while (process.hrtime.bigint() < deadline) {
    if (await done()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

/** Lets pending file I/O finish, so that what was due has happened before a test says nothing did. */
export async function settled(): Promise<void> {
  for (let i = 0; i < 500; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * MPEG-TS as an ffmpeg mix writes it, packet by packet, for the push relay's tests: the
 * program's tables, PES starts with their timestamps, the rest of a PES, a keyframe's
 * random-access flag and a PCR. Each packet's last byte carries `tag`, to tell them apart.
 */
export const fakeTs = {
  PMT_PID: 0x1000,
  VIDEO: 0x100,
  AUDIO: 0x101,

  packet(
    pid: number,
    payload: Buffer,
    { start = false, keyframe = false, pcr = null as number | null, tag = 0 } = {},
  ): Buffer {
    const adaptation =
      keyframe || pcr !== null
        ? Buffer.concat([
            Buffer.from([(keyframe ? 0x40 : 0) | (pcr !== null ? 0x10 : 0)]),
            pcr === null ? Buffer.alloc(0) : fakeTs.pcr(pcr),
          ])
        : null;
    const header = Buffer.from([0x47, (start ? 0x40 : 0) | (pid >> 8), pid & 0xff, 0x10 | (adaptation ? 0x20 : 0)]);
    const room = 188 - header.length - (adaptation ? adaptation.length + 1 : 0);
    const body = Buffer.alloc(room, 0xff);
    payload.copy(body, 0, 0, Math.min(payload.length, room - 1));
    body[room - 1] = tag;
    return Buffer.concat([header, ...(adaptation ? [Buffer.from([adaptation.length]), adaptation] : []), body]);
  },

  /** A 33-bit timestamp in PES form, after its 4-bit prefix. */
  timestamp(prefix: number, value: number): Buffer {
    const high = Math.floor(value / 2 ** 30) & 7;
    const low = value % 2 ** 30;
    return Buffer.from([
      (prefix << 4) | (high << 1) | 1,
      Math.floor(low / 2 ** 22) & 0xff,
      ((Math.floor(low / 2 ** 15) & 0x7f) << 1) | 1,
      Math.floor(low / 2 ** 7) & 0xff,
      ((low & 0x7f) << 1) | 1,
    ]);
  },

  pcr(base: number): Buffer {
    return Buffer.from([
      Math.floor(base / 2 ** 25) & 0xff,
      Math.floor(base / 2 ** 17) & 0xff,
      Math.floor(base / 2 ** 9) & 0xff,
      Math.floor(base / 2) & 0xff,
      ((base % 2) << 7) | 0x7e,
      0x00,
    ]);
  },

  /** A PES header with a PTS, and a DTS when given. */
  pes(streamId: number, pts: number, dts: number | null = null): Buffer {
    const stamps =
      dts === null
        ? fakeTs.timestamp(0b0010, pts)
        : Buffer.concat([fakeTs.timestamp(0b0011, pts), fakeTs.timestamp(0b0001, dts)]);
    return Buffer.concat([
      Buffer.from([0, 0, 1, streamId, 0, 0, 0x80, dts === null ? 0x80 : 0xc0, stamps.length]),
      stamps,
    ]);
  },

  pat(): Buffer {
    const section = [
      0x00,
      0xb0,
      13,
      0,
      1,
      0xc1,
      0,
      0,
      0,
      1,
      0xe0 | (fakeTs.PMT_PID >> 8),
      fakeTs.PMT_PID & 0xff,
      1,
      2,
      3,
      4,
    ];
    return fakeTs.packet(0, Buffer.from([0, ...section]), { start: true });
  },

  pmt(): Buffer {
    const { VIDEO, AUDIO } = fakeTs;
    const section = [
      0x02,
      0xb0,
      23,
      0,
      1,
      0xc1,
      0,
      0,
      0xe0 | (VIDEO >> 8),
      VIDEO & 0xff,
      0xf0,
      0,
      0x1b,
      0xe0 | (VIDEO >> 8),
      VIDEO & 0xff,
      0xf0,
      0,
      0x0f,
      0xe0 | (AUDIO >> 8),
      AUDIO & 0xff,
      0xf0,
      0,
      1,
      2,
      3,
      4,
    ];
    return fakeTs.packet(fakeTs.PMT_PID, Buffer.from([0, ...section]), { start: true });
  },

  /** A video frame's first packet: its PES start (PTS one frame after its DTS), a keyframe's flagged and with a PCR. */
  video(dts: number, { keyframe = false, tag = 0 } = {}): Buffer {
    return fakeTs.packet(fakeTs.VIDEO, fakeTs.pes(0xe0, dts + 3000, dts), {
      start: true,
      keyframe,
      pcr: keyframe ? dts : null,
      tag,
    });
  },

  audio(pts: number, tag = 0): Buffer {
    return fakeTs.packet(fakeTs.AUDIO, fakeTs.pes(0xc0, pts), { start: true, tag });
  },

  /** A PES's later packet (no start). */
  rest(pid: number, tag = 0): Buffer {
    return fakeTs.packet(pid, Buffer.alloc(0), { tag });
  },
};
