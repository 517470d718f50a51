import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long a running mix gets to take a change's commands (it takes them between two frames). */
const COMMAND_TIMEOUT_MS = 2_000;

/**
 * Changes to a running mix without restarting it: ffmpeg listens for runtime
 * commands (its zmq filter) at an address this gives out, and applies a change's
 * commands between two frames, so the output goes on with no gap.
 */
export abstract class MixControl {
  /** An address a new mix may listen on. */
  abstract address(): Promise<string>;
  /** Resolves once the mix at `address` applied every command; rejects if it refused one or did not answer. */
  abstract send(address: string, commands: readonly string[]): Promise<void>;
}

/**
 * ffmpeg's zmq filter over ZeroMQ (a REP socket in ffmpeg, a DEALER here) on a Unix socket in a
 * directory only this user may enter: no port for anything else on the machine or the network to
 * send a running mix commands (ffmpeg's filter knows no ZeroMQ CURVE keys, so the socket's place is
 * its lock).
 */
@Injectable()
export class ZmqMixControl extends MixControl implements OnApplicationShutdown {
  private dir: Promise<string> | null = null;

  async address(): Promise<string> {
    // mkdtemp makes the directory 0700.
    this.dir ??= mkdtemp(join(tmpdir(), 'mesh-mix-control-'));
    return `ipc://${join(await this.dir, `${randomBytes(8).toString('hex')}.sock`)}`;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.dir) await rm(await this.dir, { recursive: true, force: true });
  }

  async send(address: string, commands: readonly string[]): Promise<void> {
    if (commands.length === 0) return;
    // Loaded when first needed: the native addon is only for processes that mix.
    const { Dealer } = await import('zeromq');
    const socket = new Dealer({ linger: 0, receiveTimeout: COMMAND_TIMEOUT_MS, sendTimeout: COMMAND_TIMEOUT_MS });
    socket.connect(address);
    try {
      // All sent at once, so ffmpeg takes them between the same two frames; a DEALER speaks to a REP
      // with an empty delimiter frame first, and gets the answers back in order.
      for (const command of commands) await socket.send(['', command]);
      for (const command of commands) {
        const [, reply] = await socket.receive();
        const answer = reply?.toString() ?? '';
        if (!answer.startsWith('0 ')) throw new Error(`the mix refused "${command}": ${answer}`);
      }
    } finally {
      socket.close();
    }
  }
}
