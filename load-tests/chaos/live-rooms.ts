import { MeshClient } from '@mesh/client';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { discontinuitiesAfter, eventually, mixProcesses, parentPid, playlistSegments } from '@mesh/harness';

/** What killing a mix replica did to the live rooms it mixed. */
export interface RoomFigures {
  /** Rooms the killed replica was mixing. */
  moved: number;
  /** …of which on air again (a new run's segment in the playlist) before the deadline. */
  back: number;
  /** Per room back, from the kill to a new run's first segment listed in its playlist (ms). */
  backMs: number[];
  /** The most `#EXT-X-DISCONTINUITY` tags one moved room's playlist got after the last segment seen before the kill. */
  mostDiscontinuities: number;
  /** Rooms, of every room, whose playlist was ended (`#EXT-X-ENDLIST`) or that are not `live` at the end. */
  notLive: number;
  /** Rooms, of every room, mixed by no ffmpeg or by more than one at the end. */
  notMixedOnce: number;
}

export interface LiveRoom {
  readonly id: string;
  readonly host: MeshClient;
}

/** How long a moved room has to be on air again before it counts as not back. */
const BACK_DEADLINE_MS = 30_000;

/**
 * Live rooms on a running stack, mixed by its mix replicas, judged by what their players
 * see: the playlists in the shared HLS directory, and which replica's ffmpeg mixes each.
 * The fault tier kills a replica and follows its rooms back on air; `bench:mix` adds
 * rooms until the replicas cannot keep up, and times failovers.
 */
export class LiveRoomFleet {
  readonly rooms: LiveRoom[] = [];
  /** Rooms ever opened: numbers the next one. */
  private opened = 0;

  /**
   * @param inputs the co-hosts' input URLs of the i-th room
   * @param token a host's token (each host has at most two rooms live: MIX_MAX_ROOMS_PER_HOST)
   */
  constructor(
    private readonly baseUrl: string,
    private readonly hlsDir: string,
    private readonly token: (sub: string) => Promise<string>,
    private readonly inputs: (i: number) => string[],
  ) {}

  /** Opens `count` more rooms, once each is live. */
  async open(count: number): Promise<LiveRoom[]> {
    const opened = await Promise.all(Array.from({ length: count }, () => this.start()));
    await eventually(() => this.allLive(opened), { timeoutMs: 60_000, intervalMs: 250 });
    return opened;
  }

  /** Stops the last room opened. */
  async closeLast(): Promise<void> {
    const room = this.rooms.pop();
    if (room) await room.host.streams.stop(room.id);
  }

  /** The replica (its pid) mixing the room, once exactly one ffmpeg does. */
  mixerOf(room: LiveRoom): Promise<number> {
    return eventually(
      () => {
        const owner = this.owner(room.id);
        if (owner === null) throw new Error(`${room.id} is not mixed by exactly one ffmpeg`);
        return owner;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  }

  /** The replica (its pid) of each ffmpeg mixing a room now. */
  mixers(): number[] {
    return this.rooms.flatMap(({ id }) => mixProcesses(id).map((pid) => parentPid(pid) ?? 0));
  }

  /**
   * Kills the replica with `kill` and follows its rooms until each is on air again (a
   * segment of a new ffmpeg run in its playlist).
   */
  async killReplica(
    victim: number,
    kill: () => Promise<unknown>,
  ): Promise<Omit<RoomFigures, 'notLive' | 'notMixedOnce'>> {
    const orphans = this.rooms.filter((room) => this.owner(room.id) === victim);
    const before = await Promise.all(
      orphans.map(async ({ id }) => {
        const seen = playlistSegments(await this.playlist(id));
        return { id, seen, runs: new Set(seen.map(runOf)) };
      }),
    );
    const killedAt = Date.now();
    await kill();
    const outcomes = await Promise.all(
      before.map(({ id, seen, runs }) =>
        eventually(
          async () => {
            const playlist = await this.playlist(id);
            if (!playlistSegments(playlist).some((name) => !runs.has(runOf(name))))
              throw new Error(`no segment of a new run of ${id} yet`);
            return { afterMs: Date.now() - killedAt, discontinuities: discontinuitiesSince(playlist, seen) };
          },
          { timeoutMs: BACK_DEADLINE_MS, intervalMs: 50 },
        ).catch(() => null),
      ),
    );
    const back = outcomes.filter((o): o is NonNullable<typeof o> => o !== null);
    return {
      moved: orphans.length,
      back: back.length,
      backMs: back.map((o) => o.afterMs),
      mostDiscontinuities: Math.max(0, ...back.map((o) => o.discontinuities)),
    };
  }

  /** The rooms that are not live (or whose playlist ended), and those not mixed exactly once. */
  async check(): Promise<Pick<RoomFigures, 'notLive' | 'notMixedOnce'>> {
    const states = await Promise.all(
      this.rooms.map(async ({ id, host }) => ({
        live: (await host.streams.get(id)).status === 'live' && !(await this.playlist(id)).includes('#EXT-X-ENDLIST'),
        mixers: mixProcesses(id).length,
      })),
    );
    return {
      notLive: states.filter((s) => !s.live).length,
      notMixedOnce: states.filter((s) => s.mixers !== 1).length,
    };
  }

  /** Waits until every room is live and mixed exactly once (after a kill, once the group settled). */
  settled(timeoutMs = 30_000): Promise<void> {
    return eventually(
      async () => {
        const checked = await this.check();
        if (checked.notLive + checked.notMixedOnce > 0)
          throw new Error(`rooms not settled: ${JSON.stringify(checked)}`);
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.rooms.map(({ id, host }) => host.streams.stop(id).catch(() => undefined)));
    this.rooms.length = 0;
  }

  /** The room's playlist as every gateway serves it (the replicas write it to the shared HLS directory). */
  playlist(streamId: string): Promise<string> {
    return readFile(join(this.hlsDir, streamId, 'index.m3u8'), 'utf8').catch(() => '');
  }

  private async start(): Promise<LiveRoom> {
    const i = this.opened++;
    const host = new MeshClient({ baseUrl: this.baseUrl, token: await this.token(`room-host-${Math.floor(i / 2)}`) });
    const view = await host.streams.create({ title: `room ${i}` });
    for (const [k, inputUrl] of this.inputs(i).entries())
      await host.streams.setParticipant(view.id, `cohost-${k}`, { inputUrl });
    await host.streams.start(view.id);
    const room = { id: view.id, host };
    this.rooms.push(room);
    return room;
  }

  private async allLive(rooms: readonly LiveRoom[]): Promise<void> {
    const views = await Promise.all(rooms.map(({ id, host }) => host.streams.get(id)));
    const waiting = views.filter((v) => v.status !== 'live');
    if (waiting.length > 0) throw new Error(`rooms not live yet: ${waiting.map((v) => v.status).join(', ')}`);
  }

  private owner(streamId: string): number | null {
    const pids = mixProcesses(streamId);
    return pids.length === 1 ? parentPid(pids[0]!) : null;
  }
}

/** Segments are named r<revision>-<run>-<n>: the run is the ffmpeg process that wrote it. */
export const runOf = (name: string) => name.split('-').slice(0, 2).join('-');

/** Discontinuity tags after the last of `seen` still listed; all of them when none is listed any more. */
function discontinuitiesSince(playlist: string, seen: readonly string[]): number {
  try {
    return discontinuitiesAfter(playlist, seen);
  } catch {
    return playlist.split('\n').filter((line) => line.trim() === '#EXT-X-DISCONTINUITY').length;
  }
}
