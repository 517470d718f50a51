// Builds the dispatcher dashboard into dist/dashboard: one bundled script
// (socket.io-client included, so the page needs nothing from any other origin),
// its page and stylesheet. Run by `npm run build`.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'dashboard');
await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(root, 'apps/dashboard/src/main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  tsconfig: join(root, 'apps/dashboard/tsconfig.json'),
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css'])
  await copyFile(join(root, 'apps/dashboard/public', file), join(out, file));
