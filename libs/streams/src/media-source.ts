/**
 * Which media URLs a client may hand us (API.md "Streams"): every input and
 * output URL is untrusted, since ffmpeg would otherwise open local files, run
 * lavfi graphs or reach any host on our network on a client's behalf.
 */

export interface MediaPolicy {
  /**
   * Endpoint patterns inputs may come from: a host (`host`, `*.domain`, `*` for any,
   * an IP literal, IPv6 in brackets when a port follows) with an optional port
   * (`:1935`, `:*` for any); without a port, only the scheme's default port.
   */
  readonly inputHosts: readonly string[];
  /** Endpoint patterns an RTMP push may go to. */
  readonly outputHosts: readonly string[];
  /** Whether the synthetic `test:` sources are allowed (development and tests). */
  readonly testSources: boolean;
  /**
   * The libsrt options an `srt://` URL's query may set (MIX_SRT_OPTIONS; none by
   * default). ffmpeg reads them from the query, so any other one is refused; `mode`
   * never (a listener would open a port on our side).
   */
  readonly srtOptions?: readonly string[];
}

/** Each scheme's port when the URL names none (srt has none: its port must be allowed explicitly). */
export const DEFAULT_PORTS: Readonly<Record<NetworkScheme, number | null>> = {
  rtmp: 1935,
  rtmps: 443,
  srt: null,
  http: 80,
  https: 443,
};

export type NetworkScheme = 'rtmp' | 'rtmps' | 'srt' | 'http' | 'https';

/** A source ffmpeg may open, parsed and checked. */
export type MediaSource =
  | { readonly kind: 'test-color'; readonly color: TestColor }
  | { readonly kind: 'test-pattern' }
  | {
      readonly kind: 'network';
      readonly scheme: NetworkScheme;
      readonly url: string;
      /** rtmp pinned to an address: the tcUrl with the host's name, which the server expects. */
      readonly tcUrl?: string;
    };

/** The colours `test:color=<name>` accepts, each with its own tone so tests can hear who is mixed in. */
export const TEST_COLORS = {
  red: { rgb: [255, 0, 0], toneHz: 300 },
  green: { rgb: [0, 128, 0], toneHz: 1_200 },
  blue: { rgb: [0, 0, 255], toneHz: 4_800 },
  yellow: { rgb: [255, 255, 0], toneHz: 600 },
  cyan: { rgb: [0, 255, 255], toneHz: 2_400 },
  magenta: { rgb: [255, 0, 255], toneHz: 450 },
  white: { rgb: [255, 255, 255], toneHz: 900 },
  orange: { rgb: [255, 165, 0], toneHz: 1_800 },
  purple: { rgb: [128, 0, 128], toneHz: 3_600 },
} as const satisfies Record<string, { rgb: readonly [number, number, number]; toneHz: number }>;
export type TestColor = keyof typeof TEST_COLORS;
export const TEST_PATTERN_TONE_HZ = 1_000;

const INPUT_SCHEMES: readonly NetworkScheme[] = ['rtmp', 'rtmps', 'srt', 'http', 'https'];
const OUTPUT_SCHEMES: readonly NetworkScheme[] = ['rtmp', 'rtmps'];
/**
 * Characters that would let a URL escape its place on ffmpeg's command line:
 * the tee muxer's separators and option brackets, quotes, backslashes, whitespace, controls.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const UNSAFE = /[|[\]'"\\\s\u0000-\u001f\u007f]/;

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** An input URL as the mix may open it, or why not. */
export function checkInputUrl(text: string, policy: MediaPolicy): Checked<MediaSource> {
  if (text.startsWith('test:')) {
    if (!policy.testSources) return refuse('test sources are disabled on this deployment');
    const color = /^test:color=([a-z]+)$/.exec(text)?.[1];
    if (color !== undefined) {
      return isTestColor(color)
        ? { ok: true, value: { kind: 'test-color', color } }
        : refuse(`unknown test colour; one of ${Object.keys(TEST_COLORS).join(', ')}`);
    }
    if (text === 'test:pattern') return { ok: true, value: { kind: 'test-pattern' } };
    return refuse('test sources are test:color=<name> or test:pattern');
  }
  return checkNetworkUrl(text, INPUT_SCHEMES, policy.inputHosts, 'MIX_INPUT_HOSTS', policy.srtOptions ?? []);
}

/** An RTMP push target, or why not. */
export function checkOutputUrl(text: string, policy: MediaPolicy): Checked<string> {
  const checked = checkNetworkUrl(text, OUTPUT_SCHEMES, policy.outputHosts, 'MIX_OUTPUT_HOSTS', []);
  return checked.ok && checked.value.kind === 'network' ? { ok: true, value: checked.value.url } : (checked as never);
}

function checkNetworkUrl(
  text: string,
  schemes: readonly NetworkScheme[],
  hosts: readonly string[],
  setting: string,
  srtOptions: readonly string[],
): Checked<MediaSource> {
  if (UNSAFE.test(text)) return refuse('contains characters not allowed in a media URL');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse('not a URL');
  }
  const scheme = url.protocol.slice(0, -1) as NetworkScheme;
  if (!schemes.includes(scheme)) return refuse(`only ${schemes.join(', ')} URLs are allowed`);
  if (url.username || url.password) return refuse('credentials in the URL are not allowed');
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!host) return refuse('the URL has no host');
  if (!hostAllowed(host, hosts)) {
    return refuse(`the host ${host} is not allowed (${setting})`);
  }
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[scheme];
  if (port === null) return refuse(`an ${scheme} URL names its port`);
  if (!endpointAllowed(host, port, DEFAULT_PORTS[scheme], hosts)) {
    return refuse(`port ${port} of ${host} is not allowed (${setting})`);
  }
  if (scheme === 'srt') {
    const unknown = [...url.searchParams.keys()].find((name) => name === 'mode' || !srtOptions.includes(name));
    if (unknown !== undefined) return refuse(`the srt option ${unknown} is not allowed (MIX_SRT_OPTIONS)`);
  }
  return { ok: true, value: { kind: 'network', scheme, url: url.href } };
}

/** One endpoint pattern: its host pattern, and its port (null: the scheme's default; '*': any). */
interface EndpointPattern {
  host: string;
  port: number | '*' | null;
}

function parsePattern(text: string): EndpointPattern {
  const pattern = text.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}|\*))?$/.exec(pattern);
  if (bracketed) return { host: bracketed[1] as string, port: portOf(bracketed[2]) };
  // A bare IPv6 literal has colons of its own and no port.
  if ((pattern.match(/:/g) ?? []).length > 1) return { host: pattern, port: null };
  const [host = '', port] = pattern.split(':');
  return { host, port: portOf(port) };
}

function portOf(text: string | undefined): number | '*' | null {
  if (text === undefined) return null;
  return text === '*' ? '*' : Number(text);
}

/** Whether a host (lower-case, IPv6 without brackets) matches the host part of one of the patterns. */
export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => hostMatches(host, parsePattern(pattern).host));
}

/** Whether `host:port` matches one of the patterns (a pattern without a port allows `defaultPort` only). */
export function endpointAllowed(
  host: string,
  port: number,
  defaultPort: number | null,
  patterns: readonly string[],
): boolean {
  return patterns.some((text) => {
    const pattern = parsePattern(text);
    if (!hostMatches(host, pattern.host)) return false;
    return pattern.port === '*' || port === (pattern.port ?? defaultPort);
  });
}

/** Whether the operator listed this very IP address as a host (then it may be private: a local ingest, tests). */
export function addressListed(address: string, patterns: readonly string[]): boolean {
  const bare = address.toLowerCase();
  return patterns.some((text) => parsePattern(text).host === bare);
}

/** `*` any host; `*.example.com` its subdomains; otherwise the exact host, case-insensitively. */
export function hostMatches(host: string, pattern: string): boolean {
  const p = pattern.trim().toLowerCase();
  if (p === '*') return true;
  if (p.startsWith('*.')) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
  return host === p;
}

/** What other viewers see of a URL: its scheme and host, never the path or query where stream keys live. */
export function maskUrl(text: string): string {
  if (text.startsWith('test:')) return text;
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}/…`;
  } catch {
    return '…';
  }
}

/** Every URL in a text (an ffmpeg message) masked as `maskUrl` does: paths and queries carry stream keys. */
export function maskUrls(text: string): string {
  // A URL runs to the next space or quote; punctuation ending a sentence is not part of it.
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]*[^\s'"<>.,;:)]/gi, (url) => maskUrl(url));
}

function isTestColor(name: string): name is TestColor {
  return Object.prototype.hasOwnProperty.call(TEST_COLORS, name);
}

function refuse(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
