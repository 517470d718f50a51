import { addressListed, resolvePublic, type Checked, type MediaSource, type Resolver } from '@mesh/streams';
import { isIP } from 'node:net';

type NetworkSource = Extract<MediaSource, { kind: 'network' }>;

/** A network URL as ffmpeg is given it: the host replaced by the address checked, where ffmpeg has no proxy. */
export interface PinnedUrl {
  readonly url: string;
  /** For rtmp: the tcUrl the server expects (with the host name, not the pinned address). */
  readonly tcUrl?: string;
}

/**
 * Resolves a checked network URL's host and refuses it when it resolves to an
 * address that is not public (unless that address is listed in `patterns`).
 * rtmp and srt have no proxy in ffmpeg, so their URL is pinned to the address
 * just checked: DNS cannot send ffmpeg elsewhere a moment later (rebinding).
 * http, https and rtmps connect through the egress proxy, which checks (and
 * pins) every connection itself, redirects included; they are checked here too,
 * so a refusal says why rather than "403".
 */
export async function pinned(
  source: NetworkSource,
  patterns: readonly string[],
  resolve?: Resolver,
): Promise<Checked<PinnedUrl>> {
  const url = new URL(source.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const found = await resolvePublic(host, (address) => addressListed(address, patterns), resolve);
  if (!found.ok) return found;
  if ((source.scheme !== 'rtmp' && source.scheme !== 'srt') || isIP(host) !== 0) {
    return { ok: true, value: { url: source.url } };
  }
  const named = new URL(source.url);
  url.hostname = isIP(found.address) === 6 ? `[${found.address}]` : found.address;
  if (source.scheme === 'srt') return { ok: true, value: { url: url.href } };
  // ffmpeg's tcUrl is scheme://host[:port]/app, app being the path's first segment.
  const app = named.pathname.split('/')[1] ?? '';
  return { ok: true, value: { url: url.href, tcUrl: `${named.protocol}//${named.host}/${app}` } };
}
