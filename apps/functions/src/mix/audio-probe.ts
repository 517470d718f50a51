import { networkInput, type NetworkSource } from './ffmpeg-command';
import type { ChildRun } from './process-runner';

/** ffmpeg's refusal of a graph that names the audio of an input that has none. */
export const MISSING_AUDIO = /Stream specifier ':a' in filtergraph description .* matches no streams/;

/**
 * ffmpeg opening one network input and listing its streams, without writing anything
 * (it then exits with "At least one output file must be specified", which is expected).
 */
export function probeArgs(source: NetworkSource, opts: { inputTimeoutS: number; caFile: string }): string[] {
  return ['-hide_banner', '-nostdin', '-loglevel', 'info', ...networkInput(source, opts)];
}

/** From a probe's output: whether the input has audio, or null when its streams were not listed (it did not open). */
export function probedAudio(stderr: string): boolean | null {
  if (/^\s*Stream #\d+:\d+.*?: Audio:/m.test(stderr)) return true;
  if (/^\s*Stream #\d+:\d+.*?: Video:/m.test(stderr)) return false;
  return null;
}

/**
 * Whether a co-host's network input carries sound (a screen share, a camera with its
 * microphone off has none). ffmpeg refuses a graph that names the audio of an input
 * without any (MISSING_AUDIO) and does not say which input it was: the mix asks this of
 * each input it does not know yet, and mixes those without as silent.
 */
export class AudioProbe {
  constructor(
    /** Starts ffmpeg with these arguments (through the egress proxy, as the mix itself). */
    private readonly spawn: (args: string[]) => Promise<ChildRun>,
    private readonly opts: { inputTimeoutS: number; caFile: string },
  ) {}

  /** True or false as the input says; null when it could not be opened to tell (within twice the input timeout). */
  async hasAudio(source: NetworkSource): Promise<boolean | null> {
    const child = await this.spawn(probeArgs(source, this.opts));
    let stderr = '';
    child.onStderr((chunk) => (stderr = (stderr + chunk).slice(-16_000)));
    const killer = setTimeout(() => child.kill('SIGKILL'), this.opts.inputTimeoutS * 2_000);
    await child.exited;
    clearTimeout(killer);
    return probedAudio(stderr);
  }
}
