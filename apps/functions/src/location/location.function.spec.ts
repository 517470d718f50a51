import { newEvent } from '@mesh/bus';
import { AppConfig } from '@mesh/config';
import { rooms, type ServerEventName } from '@mesh/contracts';
import { MemoryCourierGeoRepository } from '@mesh/geo';
import { ClientPush } from '@mesh/realtime';
import { LocationFunction } from './location.function';

class RecordingPush extends ClientPush {
  readonly sent: { rooms: string | readonly string[]; event: ServerEventName; payload: unknown }[] = [];
  emit(to: string | readonly string[], event: ServerEventName, payload: unknown): Promise<void> {
    this.sent.push({ rooms: to, event, payload });
    return Promise.resolve();
  }
  leave(): void {}
}

describe('LocationFunction', () => {
  const at = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString();
  let couriers: MemoryCourierGeoRepository;
  let push: RecordingPush;
  let fn: LocationFunction;
  beforeEach(() => {
    couriers = new MemoryCourierGeoRepository();
    push = new RecordingPush();
    fn = new LocationFunction(couriers, push, AppConfig.fromEnv({ JWT_SECRET: 'x'.repeat(32) }));
  });

  it('records every fix of a gathered batch, keeps each courier’s newest, and shows dispatchers each courier once', async () => {
    await couriers.setAvailability('a', true);
    await couriers.setAvailability('b', true);
    const event = newEvent(
      'courier.locations.reported',
      {
        fixes: [
          { courierId: 'a', lat: 52.5, lng: 13.4, at: at(2) },
          { courierId: 'b', lat: 52.6, lng: 13.5, at: at(2) },
          // Older than the one before it: not stored, not shown.
          { courierId: 'a', lat: 40, lng: 10, at: at(30) },
        ],
      },
      { source: '/test', key: 'a' },
    );
    await fn.handle(event);
    expect((await couriers.get('a')).location).toMatchObject({ lat: 52.5, lng: 13.4 });
    expect((await couriers.get('b')).location).toMatchObject({ lat: 52.6, lng: 13.5 });
    expect(push.sent.filter((p) => p.rooms === rooms.dispatchers).map((p) => p.payload)).toEqual([
      expect.objectContaining({ courierId: 'a', lat: 52.5 }),
      expect.objectContaining({ courierId: 'b', lat: 52.6 }),
    ]);
  });
});
