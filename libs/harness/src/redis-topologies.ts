import { DEFAULT_MARKET, type MarketArea } from '@mesh/config';
import { Markets } from '@mesh/geo';
import { RedisConnection, type RedisOptions } from '@mesh/redis';
import { uniqueName } from './eventually';

/**
 * The two Redis topologies every Redis adapter's contract runs against: a single
 * Redis (`REDIS_URL`) and a Redis Cluster of three masters with replicas
 * (`REDIS_CLUSTER_NODES`), both brought up by `npm run infra:up`.
 */
export const REDIS_TOPOLOGIES: readonly { name: string; options: Omit<RedisOptions, 'keyPrefix'> }[] = [
  { name: 'single Redis', options: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' } },
  {
    name: 'Redis Cluster',
    options: {
      url: '',
      clusterNodes: (process.env.REDIS_CLUSTER_NODES ?? '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003').split(','),
    },
  },
];

/** A connection to a topology under a key prefix of its own, so tests sharing the server never meet. */
export function isolatedRedis(topology: (typeof REDIS_TOPOLOGIES)[number]): RedisConnection {
  return new RedisConnection({ ...topology.options, keyPrefix: `${uniqueName('t')}:` });
}

/** Two markets splitting the world at the prime meridian: west and east (tests place points anywhere). */
export const TEST_MARKETS: readonly MarketArea[] = [
  {
    name: 'west',
    area: {
      type: 'Polygon',
      coordinates: [
        [
          [-180, -85],
          [0, -85],
          [0, 85],
          [-180, 85],
          [-180, -85],
        ],
      ],
    },
  },
  {
    name: 'east',
    area: {
      type: 'Polygon',
      coordinates: [
        [
          [0, -85],
          [180, -85],
          [180, 85],
          [0, 85],
          [0, -85],
        ],
      ],
    },
  },
];

export const testMarkets = (): Markets => new Markets(TEST_MARKETS);

/** One market covering the world, as a deployment that names none has. */
export const oneMarket = (): Markets => new Markets([{ name: DEFAULT_MARKET, area: null }]);
