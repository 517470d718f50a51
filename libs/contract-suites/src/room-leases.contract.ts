import type { RoomLeases } from '@mesh/streams';
import { eventually, uniqueName } from '@mesh/harness';

export interface RoomLeasesUnderTest {
  leases: RoomLeases;
  dispose(): Promise<void>;
}

/** The behaviour every RoomLeases adapter must have. Run against each adapter. */
export function roomLeasesContract(adapter: string, create: () => Promise<RoomLeasesUnderTest>): void {
  describe(`RoomLeases contract: ${adapter}`, () => {
    let under: RoomLeasesUnderTest;
    beforeEach(async () => {
      under = await create();
    });
    afterEach(() => under.dispose());

    it('gives a room to one owner at a time, until it releases it', async () => {
      const room = uniqueName('room');
      await expect(under.leases.acquire(room, 'a', 10_000)).resolves.toBe(true);
      await expect(under.leases.acquire(room, 'b', 10_000)).resolves.toBe(false);
      // Its holder taking it again renews it.
      await expect(under.leases.acquire(room, 'a', 10_000)).resolves.toBe(true);
      // Only the holder's release counts.
      await under.leases.release(room, 'b');
      await expect(under.leases.acquire(room, 'b', 10_000)).resolves.toBe(false);
      await under.leases.release(room, 'a');
      await expect(under.leases.acquire(room, 'b', 10_000)).resolves.toBe(true);
    });

    it('lets a lease its holder stopped renewing run out, and keeps those it renews', async () => {
      const [kept, dropped] = [uniqueName('room'), uniqueName('room')];
      await under.leases.acquire(kept, 'a', 300);
      await under.leases.acquire(dropped, 'a', 300);
      const renewing = setInterval(() => void under.leases.renew([kept], 'a', 300), 100);
      try {
        // The one left alone is free for another owner once it ran out; the renewed one never is.
        await eventually(async () => expect(await under.leases.acquire(dropped, 'b', 10_000)).toBe(true), {
          timeoutMs: 5_000,
          intervalMs: 50,
        });
        await expect(under.leases.acquire(kept, 'b', 10_000)).resolves.toBe(false);
      } finally {
        clearInterval(renewing);
      }
      // Renewing tells the holder which leases it lost.
      await expect(under.leases.renew([kept, dropped], 'a', 10_000)).resolves.toEqual([dropped]);
      await expect(under.leases.renew([], 'a', 10_000)).resolves.toEqual([]);
    });

    it('gives its holder back a lease that ran out while nobody took it (renewals failed meanwhile)', async () => {
      const room = uniqueName('room');
      await under.leases.acquire(room, 'a', 100);
      // Run out: free for anyone, as the renewals did not come.
      await eventually(async () => expect(await under.leases.acquire(room, 'probe', 1)).toBe(true), {
        timeoutMs: 5_000,
        intervalMs: 20,
      });
      await eventually(async () => expect(await under.leases.renew([room], 'a', 10_000)).toEqual([]), {
        timeoutMs: 5_000,
        intervalMs: 20,
      });
      await expect(under.leases.acquire(room, 'b', 10_000)).resolves.toBe(false);
    });
  });
}
