import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PLAYLIST } from './ffmpeg-command';

const ENDLIST = '#EXT-X-ENDLIST';

/**
 * Marks a stream's playlist as ended, so players stop at its last segment instead of
 * polling for more (the mix writes it without an end, since a new revision appends).
 * Does nothing when there is no playlist or it is already ended.
 */
export async function endPlaylist(dir: string): Promise<void> {
  const path = join(dir, PLAYLIST);
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null || text.split('\n').some((line) => line.trim() === ENDLIST)) return;
  await replace(path, `${text.endsWith('\n') ? text : `${text}\n`}${ENDLIST}\n`);
}

/** Takes the end mark off again before a stopped stream goes back on air and appends to it. */
export async function reopenPlaylist(dir: string): Promise<void> {
  const path = join(dir, PLAYLIST);
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null || !text.includes(ENDLIST)) return;
  await replace(
    path,
    text
      .split('\n')
      .filter((line) => line.trim() !== ENDLIST)
      .join('\n'),
  );
}

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

/** Writes beside, then renames over: a player never reads half a playlist. */
async function replace(path: string, text: string): Promise<void> {
  const temporary = `${path}.ending`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}
