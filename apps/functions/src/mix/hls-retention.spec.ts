import { mkdir, mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLAYLIST } from './ffmpeg-command';
import { sweepHls } from './hls-retention';

const LIVE = '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nr3-1-7.ts\n';

describe('HLS of ended streams', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'mesh-hls-'));
  });

  async function stream(id: string, playlist: string | null, ageS: number): Promise<string> {
    const dir = join(root, id);
    await mkdir(dir);
    const at = new Date(Date.now() - ageS * 1000);
    if (playlist !== null) {
      await writeFile(join(dir, PLAYLIST), playlist);
      await utimes(join(dir, PLAYLIST), at, at);
    }
    await utimes(dir, at, at);
    return dir;
  }

  it('deletes streams unchanged for longer than the retention, never one still mixed', async () => {
    await stream('ended-long-ago', `${LIVE}#EXT-X-ENDLIST\n`, 600);
    await stream('abandoned', null, 600);
    await stream('ended-just-now', `${LIVE}#EXT-X-ENDLIST\n`, 10);
    await stream('mixed-here', LIVE, 600);
    await writeFile(join(root, 'not-a-stream.txt'), 'x');

    const removed = await sweepHls(root, 300_000, new Set(['mixed-here']));
    expect(removed.sort()).toEqual(['abandoned', 'ended-long-ago']);
    expect((await readdir(root)).sort()).toEqual(['ended-just-now', 'mixed-here', 'not-a-stream.txt']);
  });

  it('sweeps nothing when the HLS directory does not exist yet', async () => {
    expect(await sweepHls(join(root, 'missing'), 1_000, new Set())).toEqual([]);
  });
});
