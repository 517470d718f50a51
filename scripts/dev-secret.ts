import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The local stack's HS256 secret: JWT_SECRET when set, else one generated once
 * into .mesh/dev.env (git-ignored) so `npm run stack` and `npm run token` agree.
 * Never a secret written in code.
 */
export function localJwtSecret(root = process.cwd()): string {
  if (process.env.JWT_SECRET) return process.env.JWT_SECRET;
  const file = join(root, '.mesh', 'dev.env');
  if (existsSync(file)) {
    const match = /^JWT_SECRET=(.+)$/m.exec(readFileSync(file, 'utf8'));
    if (match?.[1]) return match[1].trim();
  }
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(join(root, '.mesh'), { recursive: true });
  writeFileSync(file, `JWT_SECRET=${secret}\n`, { mode: 0o600 });
  return secret;
}
