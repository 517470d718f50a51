import { monotonicFactory } from 'ulid';

const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES;

/**
 * Crypto-strength randomness drawn from a refilled pool: ulid's own source asks
 * the kernel for one byte per character, which at thousands of ids a second was
 * a quarter of the gateway's CPU.
 */
function pooledRandom(): number {
  if (used === POOL_BYTES) {
    // Web Crypto: in Node and in browsers alike (the contracts are bundled into the dashboard and the client).
    globalThis.crypto.getRandomValues(pool);
    used = 0;
  }
  return (pool[used++] as number) / 256;
}

/**
 * A new server-generated id (orders, offers, events, requests): a ULID, strictly
 * increasing within this process, so ids sort by creation time even within one
 * millisecond (listings rely on it).
 */
export const newId: () => string = monotonicFactory(pooledRandom);
