import { newEvent } from '@mesh/bus';
import type { StreamChangeType } from '@mesh/contracts';
import { eventually, mixProcesses, startScaler, uniqueName, type RunningScaler } from '@mesh/harness';
import { RedisConnection } from '@mesh/redis';
import {
  RedisStreamStore,
  createStream,
  setParticipant,
  startStream,
  stopStream,
  type StreamChange,
} from '@mesh/streams';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The local scaler and the mix on live rooms (real Kafka, Redis and ffmpeg): no mix
 * replica while no room is live, one per room here (roomsPerReplica 1) as rooms go
 * live, each room mixed by exactly one of them, and none again once the rooms stop.
 */
describe('scaling the mix on live rooms (real Kafka, Redis and ffmpeg)', () => {
  let scaler: RunningScaler;
  let redis: RedisConnection;
  let store: RedisStreamStore;

  beforeAll(async () => {
    scaler = await startScaler(
      {
        pollingIntervalS: 0.5,
        functions: {
          mix: {
            minReplicas: 0,
            maxReplicas: 3,
            lagThreshold: 1_000,
            activationLagThreshold: 0,
            cooldownS: 3,
            liveRooms: { roomsPerReplica: 1, inputsPerReplica: 100 },
          },
        },
      },
      {
        MIX_TEST_SOURCES: '1',
        MIX_HLS_DIR: mkdtempSync(join(tmpdir(), 'mesh-scale-live-')),
        MIX_OUTPUT_SIZE: '320x180',
        MIX_X264_PRESET: 'ultrafast',
      },
    );
    redis = new RedisConnection({
      url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      keyPrefix: String(scaler.env.REDIS_KEY_PREFIX),
    });
    store = new RedisStreamStore(redis);
  });
  afterAll(async () => {
    await redis?.close();
    await scaler?.stop();
  });

  /** Commits a change as the gateway does, and publishes its stream-mix request (the outbox relay's part). */
  async function change(made: StreamChange): Promise<StreamChange['after']> {
    expect(await store.commit(made)).toBe(true);
    const type: StreamChangeType = made.type;
    await scaler.bus.publish(
      'streams',
      newEvent(type, { stream: made.after }, { source: '/test', key: made.after.id }),
    );
    return made.after;
  }

  it('runs no mix replica without a live room, one per live room, each room mixed once, and none after they stop', async () => {
    expect(await scaler.replicas('mix')).toBe(0);
    const now = new Date();
    const rooms = await Promise.all(
      ['red', 'blue'].map(async (colour, i) => {
        const created = await change(
          createStream({
            id: uniqueName('ROOM').toUpperCase(),
            hostId: `host-${i}`,
            title: 'room',
            rtmpUrl: null,
            now,
          }),
        );
        const input = { inputUrl: `test:color=${colour}`, volume: 1, muted: false };
        const withInput = await change(setParticipant(created, 'a', input, 9, now));
        return change(startStream(withInput, null, now) as StreamChange);
      }),
    );
    await eventually(async () => expect(await scaler.replicas('mix')).toBe(2), { timeoutMs: 30_000, intervalMs: 250 });
    // Whichever replica owns which room: each is on air, from one ffmpeg.
    await eventually(() => expect(rooms.map((room) => mixProcesses(room.id).length)).toEqual([1, 1]), {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    expect(await store.liveLoad()).toEqual({ rooms: 2, inputs: 2 });

    for (const room of rooms) await change(stopStream(room, new Date()) as StreamChange);
    await eventually(async () => expect(await scaler.replicas('mix')).toBe(0), { timeoutMs: 30_000, intervalMs: 250 });
    await eventually(() => expect(rooms.flatMap((room) => mixProcesses(room.id))).toEqual([]), { timeoutMs: 15_000 });
    const history = (await scaler.status()).history.filter((h) => h.function === 'mix');
    // Up from none to a replica per room, and back to none (a step at a time, as the rooms stopped).
    expect(history[0]).toMatchObject({ from: 0 });
    expect(Math.max(...history.map((h) => h.to))).toBe(2);
    expect(history.at(-1)).toMatchObject({ to: 0 });
  });
});
