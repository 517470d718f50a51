/**
 * Just enough of MPEG-TS (ISO/IEC 13818-1) for the push relay to splice runs of a mix:
 * packets cut out of a byte stream, the program's streams read from its PAT and PMT,
 * a video keyframe's first packet found, and the timestamps (PES PTS/DTS, PCR) moved.
 */

export const TS_PACKET = 188;
const SYNC = 0x47;
/** Timestamps are 33-bit counts of a 90 kHz clock. */
export const TS_CLOCK_HZ = 90_000;
const WRAP = 2 ** 33;

/** H.264 and H.265 in a PMT: the streams a splice is cut on. */
const VIDEO_TYPES = new Set([0x1b, 0x24]);

/** Cuts whole packets out of a byte stream however it is chunked; skips to the next sync byte after garbage. */
export class TsSplitter {
  private rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    let data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const packets: Buffer[] = [];
    let at = 0;
    while (data.length - at >= TS_PACKET) {
      if (data[at] !== SYNC) {
        const next = data.indexOf(SYNC, at + 1);
        at = next === -1 ? data.length : next;
        continue;
      }
      // A copy: the packet outlives the chunk, and may be changed in place (see shiftTimestamps).
      packets.push(Buffer.from(data.subarray(at, at + TS_PACKET)));
      at += TS_PACKET;
    }
    data = data.subarray(at);
    this.rest = Buffer.from(data);
    return packets;
  }
}

export function pidOf(packet: Buffer): number {
  return ((packet[1]! & 0x1f) << 8) | packet[2]!;
}

/** The packet starts a PES packet or a PSI section (payload_unit_start_indicator). */
export function startsUnit(packet: Buffer): boolean {
  return (packet[1]! & 0x40) !== 0;
}

function adaptationLength(packet: Buffer): number {
  return (packet[3]! & 0x20) !== 0 ? 1 + packet[4]! : 0;
}

function payloadOffset(packet: Buffer): number | null {
  if ((packet[3]! & 0x10) === 0) return null;
  const at = 4 + adaptationLength(packet);
  return at < TS_PACKET ? at : null;
}

/** The packet says a decoder may start here (random_access_indicator): a keyframe's first packet. */
export function randomAccess(packet: Buffer): boolean {
  return adaptationLength(packet) > 1 && (packet[5]! & 0x40) !== 0;
}

/** A PSI section's bytes from its table_id, to its CRC excluded; null if the packet does not start one. */
function section(packet: Buffer, tableId: number): Buffer | null {
  const at = payloadOffset(packet);
  if (at === null || !startsUnit(packet)) return null;
  const start = at + 1 + packet[at]!;
  if (start + 3 > TS_PACKET || packet[start] !== tableId) return null;
  const length = ((packet[start + 1]! & 0x0f) << 8) | packet[start + 2]!;
  const end = Math.min(TS_PACKET, start + 3 + length - 4);
  return packet.subarray(start, end);
}

/** The PID of the first program's PMT, from a PAT packet. */
export function programMapPid(pat: Buffer): number | null {
  const s = section(pat, 0x00);
  if (!s) return null;
  for (let at = 8; at + 4 <= s.length; at += 4) {
    const program = (s[at]! << 8) | s[at + 1]!;
    if (program !== 0) return ((s[at + 2]! & 0x1f) << 8) | s[at + 3]!;
  }
  return null;
}

/** The elementary streams a PMT packet lists, and which is the video. */
export function programStreams(pmt: Buffer): { video: number | null; pids: number[] } | null {
  const s = section(pmt, 0x02);
  if (!s || s.length < 12) return null;
  let at = 12 + (((s[10]! & 0x0f) << 8) | s[11]!);
  let video: number | null = null;
  const pids: number[] = [];
  while (at + 5 <= s.length) {
    const type = s[at]!;
    const pid = ((s[at + 1]! & 0x1f) << 8) | s[at + 2]!;
    pids.push(pid);
    if (video === null && VIDEO_TYPES.has(type)) video = pid;
    at += 5 + (((s[at + 3]! & 0x0f) << 8) | s[at + 4]!);
  }
  return { video, pids };
}

/** Where a PES header's PTS (and DTS) are in a packet that starts one, and whether each is there. */
function pesTimestampsAt(packet: Buffer): { pts: number | null; dts: number | null } {
  const at = payloadOffset(packet);
  if (at === null || !startsUnit(packet) || at + 14 > TS_PACKET) return { pts: null, dts: null };
  if (packet[at] !== 0 || packet[at + 1] !== 0 || packet[at + 2] !== 1) return { pts: null, dts: null };
  const flags = packet[at + 7]! >> 6;
  const pts = flags & 0b10 ? at + 9 : null;
  const dts = flags === 0b11 && at + 19 <= TS_PACKET ? at + 14 : null;
  return { pts, dts };
}

function readTimestamp(packet: Buffer, at: number): number {
  const high = (packet[at]! >> 1) & 0x07;
  const low =
    packet[at + 1]! * 2 ** 22 + (packet[at + 2]! >> 1) * 2 ** 15 + packet[at + 3]! * 2 ** 7 + (packet[at + 4]! >> 1);
  return high * 2 ** 30 + low;
}

function writeTimestamp(packet: Buffer, at: number, value: number): void {
  const high = Math.floor(value / 2 ** 30) & 0x07;
  const low = value % 2 ** 30;
  packet[at] = (packet[at]! & 0xf0) | (high << 1) | 1;
  packet[at + 1] = Math.floor(low / 2 ** 22) & 0xff;
  packet[at + 2] = ((Math.floor(low / 2 ** 15) & 0x7f) << 1) | 1;
  packet[at + 3] = Math.floor(low / 2 ** 7) & 0xff;
  packet[at + 4] = ((low & 0x7f) << 1) | 1;
}

/** The decode time of the PES packet this packet starts (its DTS, else its PTS), or null. */
export function decodeTime(packet: Buffer): number | null {
  const { pts, dts } = pesTimestampsAt(packet);
  const at = dts ?? pts;
  return at === null ? null : readTimestamp(packet, at);
}

/** The program clock reference's base (90 kHz) a packet carries, or null. */
export function pcrOf(packet: Buffer): number | null {
  if (adaptationLength(packet) < 8 || (packet[5]! & 0x10) === 0) return null;
  return packet[6]! * 2 ** 25 + packet[7]! * 2 ** 17 + packet[8]! * 2 ** 9 + packet[9]! * 2 + (packet[10]! >> 7);
}

/** `a + b` on the 33-bit clock. */
export function wrapAdd(a: number, b: number): number {
  return (((a + b) % WRAP) + WRAP) % WRAP;
}

/** Moves a packet's PTS, DTS and PCR by `delta` ticks of the 90 kHz clock (wrapping as the clock does), in place. */
export function shiftTimestamps(packet: Buffer, delta: number): void {
  if (delta === 0) return;
  const { pts, dts } = pesTimestampsAt(packet);
  for (const at of [pts, dts]) if (at !== null) writeTimestamp(packet, at, wrapAdd(readTimestamp(packet, at), delta));
  const pcr = pcrOf(packet);
  if (pcr === null) return;
  const moved = wrapAdd(pcr, delta);
  packet[6] = Math.floor(moved / 2 ** 25) & 0xff;
  packet[7] = Math.floor(moved / 2 ** 17) & 0xff;
  packet[8] = Math.floor(moved / 2 ** 9) & 0xff;
  packet[9] = Math.floor(moved / 2) & 0xff;
  packet[10] = ((moved % 2) << 7) | (packet[10]! & 0x7f);
}
