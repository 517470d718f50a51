import { DispatchFunction } from './dispatch/dispatch.function';
import { FUNCTION_CATALOG } from '@mesh/contracts';
import { LocationFunction } from './location/location.function';
import { MixFunction } from './mix/mix.function';
import { OrderUpdatesFunction } from './order-updates/order-updates.function';
import { HousekeepingFunction } from './housekeeping/housekeeping.function';
import { ArchiveFunction } from './archive/archive.function';
import { TrailFunction } from './archive/trail.function';
import { MediaFunction } from './media/media.function';

describe('the function catalog', () => {
  it('names every function with the topic it really consumes', () => {
    const none = undefined as never;
    const functions = [
      new LocationFunction(none, none, none),
      new DispatchFunction(none, none, none, none, none, none, none, none),
      new OrderUpdatesFunction(none, none, none),
      new MixFunction({ onReport: () => undefined } as never, none, none, none, none, none),
      new HousekeepingFunction(none, none, none, none),
      new ArchiveFunction(none),
      new TrailFunction(none, none, none),
      new MediaFunction(none, none, none, none, none),
    ];
    expect(functions.map((fn) => ({ name: fn.name, topic: fn.topic }))).toEqual([...FUNCTION_CATALOG]);
  });
});
