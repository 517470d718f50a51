import { Injectable } from '@nestjs/common';
import { createServer } from 'node:net';

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

/** ffmpeg's zmq filter over ZeroMQ on the loopback interface (a REP socket in ffmpeg, a DEALER here). */
@Injectable()
export class ZmqMixControl extends MixControl {
  address(): Promise<string> {
    // A port the system says is free now; ffmpeg binds it a moment later.
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(`tcp://127.0.0.1:${port}`));
      });
    });
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
