import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PLAYLIST } from './ffmpeg-command';

/**
 * Deletes the HLS of every stream under `root` whose playlist (or, without one, whose
 * directory) has not changed for `retainMs`, except the streams in `keep`. A mix on
 * air rewrites its playlist every segment, so only ended and abandoned streams go.
 * Returns the stream ids removed.
 */
export async function sweepHls(root: string, retainMs: number, keep: ReadonlySet<string>, now = Date.now()) {
  const removed: string[] = [];
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory() || keep.has(entry.name)) continue;
    const dir = join(root, entry.name);
    const changed = await stat(join(dir, PLAYLIST))
      .catch(() => stat(dir))
      .catch(() => null);
    if (!changed || now - changed.mtimeMs <= retainMs) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}
