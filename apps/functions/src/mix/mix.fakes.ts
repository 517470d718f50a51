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
  private resolveExit: (exit: ChildExit) => void = () => undefined;

  constructor(readonly args: readonly string[]) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get ended(): boolean {
    return this.done;
  }

  onStdout(): void {
    // Nothing a test needs from it.
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
