// Brings the route log's schema up to date: node-pg-migrate runs infra/postgres/migrations in
// order, each once, under its advisory lock (several processes may call this at once).
// Usage: DATABASE_URL=postgres://… node infra/scripts/db-migrate.mjs [--schema NAME]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runner } from 'node-pg-migrate';

const { values } = parseArgs({ options: { schema: { type: 'string', default: 'public' } } });
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_URL is not set');
  process.exit(2);
}

const applied = await runner({
  databaseUrl,
  dir: join(dirname(fileURLToPath(import.meta.url)), '../postgres/migrations'),
  direction: 'up',
  count: Infinity,
  migrationsTable: 'mesh_migrations',
  schema: values.schema,
  createSchema: true,
  checkOrder: true,
  singleTransaction: true,
  advisoryLockMode: 'wait',
  verbose: false,
  log: (line) => console.log(line),
});
for (const m of applied) console.log(`applied: ${m.name}`);
