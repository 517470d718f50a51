import type { Role, StreamView } from '@mesh/contracts';
import { eventually, mixProcesses } from '@mesh/harness';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Actors, type Actor } from './actors';

/** The stack's mix settings for tests: small, fast pictures from synthetic sources, local RTMP allowed. */
export function mixEnv(): NodeJS.ProcessEnv {
  return {
    MIX_TEST_SOURCES: '1',
    MIX_INPUT_HOSTS: '127.0.0.1:*',
    MIX_OUTPUT_HOSTS: '127.0.0.1:*',
    MIX_HLS_DIR: mkdtempSync(join(tmpdir(), 'mesh-live-')),
    MIX_OUTPUT_SIZE: '320x180',
    MIX_X264_PRESET: 'ultrafast',
    MIX_MAX_RESTARTS: '1',
    MIX_INPUT_TIMEOUT_S: '2',
  };
}

export type Person = Actor;

/** People of live rooms on a running stack, and what they do with rooms. */
export class LiveRooms extends Actors {
  person(prefix: string, roles: Role[]): Promise<Person> {
    return this.actor(prefix, roles);
  }

  /** A stream of `host` with one participant per input, in order; not started. */
  async stream(host: Person, inputs: readonly string[], output?: { rtmpUrl: string }): Promise<StreamView> {
    let view = await host.client.streams.create({ title: 'e2e room', ...(output ? { output } : {}) });
    expect(view.status).toBe('idle');
    for (const [i, inputUrl] of inputs.entries()) {
      view = await host.client.streams.setParticipant(view.id, `guest-${i}`, { inputUrl: inputUrl });
    }
    return view;
  }

  /** Starts the stream and waits until its host is told it is live. */
  async goLive(host: Person, streamId: string): Promise<StreamView> {
    const started = await host.client.streams.start(streamId);
    return this.statusReaches(host, streamId, 'live', started.revision);
  }

  /** The first `stream.updated` the person gets for the stream with `status`, at `minRevision` or later. */
  statusReaches(person: Person, streamId: string, status: StreamView['status'], minRevision = 0): Promise<StreamView> {
    return person.inbox.next(
      'stream.updated',
      (s) => s.id === streamId && s.status === status && s.revision >= minRevision,
      30_000,
    );
  }
}

export async function noMixProcesses(streamId: string): Promise<void> {
  await eventually(() => expect(mixProcesses(streamId)).toEqual([]), { timeoutMs: 10_000 });
}
