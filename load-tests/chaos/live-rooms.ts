import { MeshClient } from '@mesh/client';
import type { StreamView } from '@mesh/contracts';
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

/** How long a moved room has to be on air again before it counts as not back. */
const BACK_DEADLINE_MS = 30_000;

/**
 * Live rooms for the fault tier: a few rooms of synthetic co-hosts, mixed by the mix
 * replicas, so that killing one replica can be judged by what its rooms' players see:
 * each room on air again on another replica, its playlist going on.
 */
export class ChaosRooms {
  private constructor(
    private readonly hlsDir: string,
    private readonly rooms: { id: string; host: MeshClient }[],
  ) {}

  /** `count` rooms of two co-hosts each, started, once each is live (two rooms per host: MIX_MAX_ROOMS_PER_HOST). */
  static async open(
    baseUrl: string,
    hlsDir: string,
    count: number,
    token: (sub: string) => Promise<string>,
  ): Promise<ChaosRooms> {
    const colours = ['red', 'green', 'blue', 'white'];
    const rooms = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const host = new MeshClient({ baseUrl, token: await token(`chaos-host-${Math.floor(i / 2)}`) });
        const view = await host.streams.create({ title: `chaos room ${i}` });
        for (const [k, colour] of [colours[i % 4], colours[(i + 1) % 4]].entries())
          await host.streams.setParticipant(view.id, `cohost-${k}`, { inputUrl: `test:color=${colour}` });
        await host.streams.start(view.id);
        return { id: view.id, host };
      }),
    );
    const opened = new ChaosRooms(hlsDir, rooms);
    await eventually(() => opened.allLive(), { timeoutMs: 60_000, intervalMs: 250 });
    return opened;
  }

  /** The replica (its pid) mixing the first room. */
  firstRoomsMixer(): Promise<number> {
    return eventually(() => this.mixerOf(this.rooms[0]!.id), { timeoutMs: 10_000, intervalMs: 100 });
  }

  /**
   * Kills the replica with `kill` and follows its rooms until each is on air again (a
   * segment of a new ffmpeg run in its playlist), then checks every room.
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
          { timeoutMs: BACK_DEADLINE_MS, intervalMs: 100 },
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

  /** At the end: the rooms that are not live (or whose playlist ended), and those not mixed exactly once. */
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

  async close(): Promise<void> {
    await Promise.all(this.rooms.map(({ id, host }) => host.streams.stop(id).catch(() => undefined)));
  }

  private async allLive(): Promise<void> {
    const views: StreamView[] = await Promise.all(this.rooms.map(({ id, host }) => host.streams.get(id)));
    const waiting = views.filter((v) => v.status !== 'live');
    if (waiting.length > 0) throw new Error(`rooms not live yet: ${waiting.map((v) => v.status).join(', ')}`);
  }

  private owner(streamId: string): number | null {
    const pids = mixProcesses(streamId);
    return pids.length === 1 ? parentPid(pids[0]!) : null;
  }

  private mixerOf(streamId: string): number {
    const owner = this.owner(streamId);
    if (owner === null) throw new Error(`${streamId} is not mixed by exactly one ffmpeg`);
    return owner;
  }

  /** The room's playlist as every gateway serves it (the replicas write it to the shared HLS directory). */
  private playlist(streamId: string): Promise<string> {
    return readFile(join(this.hlsDir, streamId, 'index.m3u8'), 'utf8').catch(() => '');
  }
}

/** Segments are named r<revision>-<run>-<n>: the run is the ffmpeg process that wrote it. */
const runOf = (name: string) => name.split('-').slice(0, 2).join('-');

/** Discontinuity tags after the last of `seen` still listed; all of them when none is listed any more. */
function discontinuitiesSince(playlist: string, seen: readonly string[]): number {
  try {
    return discontinuitiesAfter(playlist, seen);
  } catch {
    return playlist.split('\n').filter((line) => line.trim() === '#EXT-X-DISCONTINUITY').length;
  }
}
