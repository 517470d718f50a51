import { parseArgs } from 'node:util';
import { FAULTS, chaosTable, runChaos, type Fault } from './chaos-run';

/**
 * `npm run chaos [-- --faults redis,kafka,functions,gateway,redis-wiped --rate 20 --couriers 200 --load 10]`:
 * steady orders on a stack of its own while one process at a time is SIGKILLed and
 * restarted, then every accepted order accounted for, per fault.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      faults: { type: 'string', default: FAULTS.join(',') },
      rate: { type: 'string', default: '20' },
      couriers: { type: 'string', default: '200' },
      customers: { type: 'string', default: '50' },
      load: { type: 'string', default: '10' },
      down: { type: 'string', default: '3' },
      drain: { type: 'string', default: '120' },
    },
  });
  const faults = values.faults.split(',').map((f) => f.trim());
  const unknown = faults.filter((f) => !(FAULTS as readonly string[]).includes(f));
  if (unknown.length > 0) throw new Error(`unknown faults ${unknown.join(', ')}; known: ${FAULTS.join(', ')}`);
  const figures = await runChaos({
    faults: faults as Fault[],
    ordersPerS: Number(values.rate),
    couriers: Number(values.couriers),
    customers: Number(values.customers),
    loadS: Number(values.load),
    downS: Number(values.down),
    drainS: Number(values.drain),
    log: (line) => process.stdout.write(`[chaos] ${line}\n`),
  });
  process.stdout.write(`\n${chaosTable(figures)}\n`);
  const losses = figures.filter((f) => f.lost + f.stuck + f.doubleAssigned + f.finalStateUnknown > 0);
  process.exitCode = losses.length > 0 ? 1 : 0;
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
