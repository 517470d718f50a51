import { parseArgs } from 'node:util';
import { TOPOLOGY, type Topology } from '@mesh/harness';
import { FAULTS, TOPOLOGY_FAULTS, chaosTable, runChaos, type Fault } from './chaos-run';

/**
 * `npm run chaos [-- --topology single|cluster --faults redis,kafka,functions,gateway,redis-wiped --rate 20
 * --couriers 200 --load 10]`: steady orders on a stack of its own while one process at a time is
 * SIGKILLed and restarted, then every accepted order accounted for, per fault. The cluster topology
 * (a Redis Cluster, three brokers, two gateways behind HAProxy) kills the orders partition leader's
 * broker, the Redis master of the load's market and a gateway, and restarts them only after `--down`
 * seconds (8 by default): the cluster must carry on without them.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      topology: { type: 'string', default: TOPOLOGY },
      faults: { type: 'string' },
      rate: { type: 'string', default: '20' },
      couriers: { type: 'string', default: '200' },
      customers: { type: 'string', default: '50' },
      load: { type: 'string', default: '10' },
      down: { type: 'string' },
      drain: { type: 'string', default: '120' },
    },
  });
  if (values.topology !== 'single' && values.topology !== 'cluster') throw new Error('--topology single|cluster');
  const topology: Topology = values.topology;
  const faults = (values.faults ?? TOPOLOGY_FAULTS[topology].join(',')).split(',').map((f) => f.trim());
  const unknown = faults.filter((f) => !(FAULTS as readonly string[]).includes(f));
  if (unknown.length > 0) throw new Error(`unknown faults ${unknown.join(', ')}; known: ${FAULTS.join(', ')}`);
  const figures = await runChaos({
    topology,
    faults: faults as Fault[],
    ordersPerS: Number(values.rate),
    couriers: Number(values.couriers),
    customers: Number(values.customers),
    loadS: Number(values.load),
    downS: Number(values.down ?? (topology === 'cluster' ? 8 : 3)),
    drainS: Number(values.drain),
    log: (line) => process.stdout.write(`[chaos] ${line}\n`),
  });
  process.stdout.write(`\n${chaosTable(figures)}\n`);
  for (const { fault, missed, connectionFailures } of figures) {
    for (const line of missed) process.stdout.write(`[${fault}] missed: ${line}\n`);
    for (const line of connectionFailures) process.stdout.write(`[${fault}] below HTTP: ${line}\n`);
  }
  const losses = figures.filter((f) => f.lost + f.stuck + f.doubleAssigned + f.finalStateUnknown > 0);
  process.exitCode = losses.length > 0 ? 1 : 0;
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
