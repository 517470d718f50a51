/**
 * Prints a development token for the local stack:
 *   npm run token -- --sub courier-1 --roles courier[,dispatcher] [--vehicle car] [--ttl 3600]
 */
import 'reflect-metadata';
import { TokenIssuer } from '@mesh/auth';
import { AppConfig } from '@mesh/config';
import { Role, Vehicle } from '@mesh/contracts';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { localJwtSecret } from './dev-secret';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      roles: { type: 'string' },
      vehicle: { type: 'string' },
      ttl: { type: 'string', default: '43200' },
    },
  });
  const roles = z
    .array(Role)
    .min(1)
    .safeParse(values.roles?.split(',').map((r) => r.trim()));
  const vehicle = Vehicle.optional().safeParse(values.vehicle);
  if (!values.sub || !roles.success || !vehicle.success) {
    process.stderr.write(
      'usage: npm run token -- --sub <user-id> --roles customer|courier|merchant|dispatcher|host[,...] [--vehicle foot|bicycle|scooter|car] [--ttl seconds]\n',
    );
    process.exit(2);
  }
  const config = AppConfig.fromEnv({
    ...process.env,
    JWT_SECRET: localJwtSecret(),
    JWT_PUBLIC_KEY: '',
    JWT_JWKS_URL: '',
  });
  const token = await new TokenIssuer(config).issue({
    sub: values.sub,
    roles: roles.data,
    ...(vehicle.data ? { vehicle: vehicle.data } : {}),
    ttlS: Number(values.ttl),
  });
  process.stdout.write(`${token}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
