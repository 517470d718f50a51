import { Inject, Injectable } from '@nestjs/common';
import { LOGGER, type Logger } from '@mesh/telemetry';
import { spawn, spawnSync } from 'node:child_process';

/** How a child process ended: its exit code, or the signal that killed it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process as the mixer drives it: its output, its end, and a way to stop it. */
export interface ChildRun {
  /** Its output as it comes, decoded as UTF-8. */
  onStdout(listener: (chunk: string) => void): void;
  /** Its error output as it comes; a failure to start at all is reported here too. */
  onStderr(listener: (chunk: string) => void): void;
  /** Settles once it ended, however (a failure to start included). */
  readonly exited: Promise<ChildExit>;
  /** Whether it has ended already. */
  readonly ended: boolean;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Stops a child: SIGTERM (ffmpeg finishes what it writes: a segment, a playlist, a trailer),
 * then SIGKILL once `graceMs` went by.
 */
export async function stopChild(child: ChildRun, graceMs: number): Promise<void> {
  if (child.ended) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(killer);
}

/**
 * Starts the mixer's child processes (ffmpeg, its probes): the port that lets the
 * mix's restart, backoff and revision logic be tested with a fake runner, and the
 * real one be swapped for a remote worker later.
 */
export abstract class ProcessRunner {
  abstract start(command: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildRun;
}

/**
 * Real processes, each dying with this one (`setpriv --pdeathsig KILL`) where setpriv
 * exists: even a SIGKILLed functions process takes its ffmpegs with it.
 */
@Injectable()
export class SpawnRunner extends ProcessRunner {
  private readonly setpriv: boolean;

  constructor(@Inject(LOGGER) logger: Logger) {
    super();
    this.setpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
    if (!this.setpriv) logger.warn('setpriv not found: ffmpeg may outlive a killed functions process');
  }

  start(command: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildRun {
    const options = { stdio: ['ignore', 'pipe', 'pipe'] as ('ignore' | 'pipe')[], env };
    const child = this.setpriv
      ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], options)
      : spawn(command, [...args], options);
    const stderr: ((chunk: string) => void)[] = [];
    let ended = false;
    const exited = new Promise<ChildExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // Not started at all (no such program): said on stderr, and ended.
      child.once('error', (err) => {
        for (const listener of stderr) listener(`${err.message}\n`);
        if (child.exitCode === null && child.signalCode === null) resolve({ code: null, signal: null });
      });
    }).then((exit) => {
      ended = true;
      return exit;
    });
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    return {
      onStdout: (listener) => void child.stdout?.on('data', listener),
      onStderr: (listener) => {
        stderr.push(listener);
        child.stderr?.on('data', listener);
      },
      exited,
      get ended() {
        return ended || child.exitCode !== null || child.signalCode !== null;
      },
      kill: (signal) => void child.kill(signal),
    };
  }
}
