import { freeClusterNodePort, freePort } from './stack';

describe('free ports for the processes a test starts', () => {
  it('never hands out a port twice, also to callers asking at once (each may bind it later)', async () => {
    // 500 at once out of ~17,000 candidates: drawn independently, a few would collide almost surely.
    const ports = await Promise.all([
      ...Array.from({ length: 400 }, () => freePort()),
      ...Array.from({ length: 50 }, async () => {
        const node = await freeClusterNodePort();
        // A cluster node listens on its port and on its bus port 10,000 above it.
        return [node, node + 10_000];
      }),
    ]);
    const all = ports.flat();
    expect(all).toHaveLength(500);
    expect(new Set(all).size).toBe(all.length);
  });
});
