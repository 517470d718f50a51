import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { REPO_ROOT } from './repo-root';

/** Brings a schema of its own up to date with the project's migrations (the script `infra:up` runs). */
export async function migrateSchema(url: string, schema: string): Promise<void> {
  await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'infra/scripts/db-migrate.mjs'), '--schema', schema], {
    env: { ...process.env, DATABASE_URL: url },
  });
}

/** Drops a test's schema and everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '')}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** A schema name no other test uses. */
export const testSchema = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}_${process.pid.toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
