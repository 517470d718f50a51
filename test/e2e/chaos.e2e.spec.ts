import { TOPOLOGY } from '@mesh/harness';
import { TOPOLOGY_FAULTS, chaosTable, runChaos, type FaultFigures } from '../../load-tests/chaos/chaos-run';

/**
 * The fault tier's CI profile (`npm run chaos` is the full one): steady orders on
 * a stack of its own while one process at a time is SIGKILLed by pid mid-load and
 * restarted later. Every accepted order is followed to its end.
 * - Single topology (own Redis, own Kafka broker, one functions process, two gateways
 *   the apps fail over between): Redis, the broker, the functions process and one
 *   gateway, each back 3 s later, and Redis once more restarted with its data
 *   directory deleted (its state rebuilt from Kafka).
 * - Cluster topology (MESH_TOPOLOGY=cluster: own Redis Cluster of three masters and
 *   three replicas, three brokers, two functions processes, two gateways behind
 *   HAProxy): the broker leading the first orders partition, the Redis master of the
 *   load's market, a gateway and a functions process, each back only 8 s later.
 * - On both, a mix replica: four live rooms run over two mix replicas of their own, and
 *   the replica mixing the first room is killed.
 */
const cluster = TOPOLOGY === 'cluster';

describe(`faults on the ${TOPOLOGY} topology: one process killed at a time, mid-load`, () => {
  let figures: FaultFigures[];

  beforeAll(async () => {
    figures = await runChaos({
      topology: TOPOLOGY,
      faults: TOPOLOGY_FAULTS[TOPOLOGY],
      ordersPerS: 10,
      couriers: 60,
      customers: 20,
      loadS: 5,
      downS: cluster ? 8 : 3,
      drainS: 90,
      log: () => undefined,
    });
    process.stdout.write(`${chaosTable(figures)}\n`);
  }, 900_000);

  it('loses, strands and double-assigns no accepted order, and every customer hears of the end', () => {
    for (const fault of figures) {
      expect({ fault: fault.fault, accepted: fault.accepted > 0 }).toEqual({ fault: fault.fault, accepted: true });
      // Pushed or replayed on reconnect; only Redis restarted without its data loses the history to replay from.
      // Asserted first: each missed push is described (the order, its last push, its customer's socket), for CI's log.
      if (fault.fault !== 'redis-wiped')
        expect({ fault: fault.fault, missed: fault.missed }).toEqual({ fault: fault.fault, missed: [] });
      // Each stuck order is described (where it stopped, what its apps were told, its history and events).
      expect({ fault: fault.fault, stuck: fault.stuckOrders }).toEqual({ fault: fault.fault, stuck: [] });
      expect(fault).toMatchObject({ lost: 0, stuck: 0, doubleAssigned: 0, finalStateUnknown: 0 });
      // Nobody is given up because of a kill: the fleet is big enough for every order.
      expect(fault.unassigned).toBe(0);
      expect(fault.delivered).toBe(fault.accepted);
    }
  });

  it('puts every live room of a killed mix replica back on air on the other, its playlist going on', () => {
    const mix = figures.find((f) => f.fault === 'mix')?.rooms;
    expect(mix?.moved).toBeGreaterThan(0);
    // Each room of the dead replica got a new run's segments in its playlist, with one discontinuity at most;
    // at the end every room is live, its playlist not ended, and mixed by exactly one ffmpeg.
    expect(mix).toMatchObject({ back: mix?.moved, notLive: 0, notMixedOnce: 0 });
    expect(mix?.mostDiscontinuities).toBeLessThanOrEqual(1);
  });

  // Each topology has the check its own faults call for (no test is skipped on either).
  if (cluster) {
    it('never refuses an app a connection, whatever node dies: the load balancer takes a dead gateway out', () => {
      for (const fault of figures) {
        expect({ fault: fault.fault, refused: fault.connectionsRefused }).toEqual({ fault: fault.fault, refused: 0 });
      }
      // Only the gateway's death drops anything below HTTP: the requests it was answering when killed.
      const others = figures.filter((f) => f.fault !== 'gateway');
      // Each failure is described (what failed, and how), for CI's log.
      expect(others.map((f) => [f.fault, f.connectionErrors, f.connectionFailures])).toEqual(
        others.map((f) => [f.fault, 0, []]),
      );
    });
  } else {
    it('refuses new orders with 503 while Kafka is away, and accepts again once it is back', () => {
      const kafka = figures.find((f) => f.fault === 'kafka');
      expect(kafka?.refused).toBeGreaterThan(0);
      expect(kafka?.backToOfferMs).not.toBeNull();
    });
  }
});
