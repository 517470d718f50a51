import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a client's media URL must never make ffmpeg reach: this machine,
 * private networks, link-local (cloud metadata at 169.254.169.254 and
 * fd00:ec2::254 among them), carrier-grade NAT, and everything not globally routed.
 */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

/** IPv4 carried in IPv6 (`::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) is judged as the IPv4 it carries. */
function embeddedIpv4(address: string): string | null {
  const match = /^(?:::ffff:|64:ff9b::)(?:0:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (match) return match[1] as string;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return null;
  const [high, low] = [parseInt(hex[1] as string, 16), parseInt(hex[2] as string, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** Whether an IP address is globally routed (not loopback, private, link-local, CGNAT, metadata, multicast…). */
export function isPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return false;
  if (family === 6) {
    const v4 = embeddedIpv4(bare);
    if (v4 !== null) return !NOT_PUBLIC.check(v4, 'ipv4');
  }
  return !NOT_PUBLIC.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

export type Resolved = { ok: true; address: string } | { ok: false; reason: string };
export type Resolver = (host: string) => Promise<string[]>;

const systemResolver: Resolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * Resolves `host` and answers the address to connect to, pinned (so DNS cannot
 * answer differently between this check and the connection): refused when any
 * address it resolves to is not public, unless the operator allowed that very
 * address by listing it as a host (`explicitlyAllowed`: e.g. `127.0.0.1:*` for a
 * local test ingest). A name never reaches a private address on a client's say-so.
 */
export async function resolvePublic(
  host: string,
  explicitlyAllowed: (address: string) => boolean,
  resolve: Resolver = systemResolver,
): Promise<Resolved> {
  const bare = host.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(bare) !== 0) {
    addresses = [bare];
  } else {
    try {
      addresses = await resolve(bare);
    } catch {
      return { ok: false, reason: `${host} does not resolve` };
    }
  }
  if (addresses.length === 0) return { ok: false, reason: `${host} does not resolve` };
  const blocked = addresses.find((a) => !isPublicAddress(a) && !explicitlyAllowed(a));
  if (blocked !== undefined) {
    return { ok: false, reason: `${host} resolves to a loopback, private or link-local address` };
  }
  return { ok: true, address: addresses[0] as string };
}
