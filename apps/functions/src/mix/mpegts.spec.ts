import { fakeTs } from './mix.fakes';
import {
  TsSplitter,
  decodeTime,
  pcrOf,
  pidOf,
  programMapPid,
  programStreams,
  randomAccess,
  shiftTimestamps,
  startsUnit,
} from './mpegts';

const WRAP = 2 ** 33;

describe('MPEG-TS, as far as the push relay reads it', () => {
  it('cuts whole packets out of a stream however it is chunked, and finds the next sync byte after garbage', () => {
    const packets = [fakeTs.pat(), fakeTs.pmt(), fakeTs.video(9000, { keyframe: true, tag: 7 })];
    const stream = Buffer.concat([Buffer.from([1, 2, 3]), ...packets]);
    const splitter = new TsSplitter();
    const out = [stream.subarray(0, 100), stream.subarray(100, 401), stream.subarray(401)].flatMap((chunk) =>
      splitter.push(chunk),
    );
    expect(out).toEqual(packets);
    expect(out.map(pidOf)).toEqual([0, fakeTs.PMT_PID, fakeTs.VIDEO]);
  });

  it('reads which PID holds the program map, and which of its streams is the video', () => {
    expect(programMapPid(fakeTs.pat())).toBe(fakeTs.PMT_PID);
    expect(programStreams(fakeTs.pmt())).toEqual({ video: fakeTs.VIDEO, pids: [fakeTs.VIDEO, fakeTs.AUDIO] });
    // Not a table's first packet: nothing read.
    expect(programMapPid(fakeTs.rest(0))).toBeNull();
    expect(programStreams(fakeTs.video(0))).toBeNull();
  });

  it('tells a keyframe’s first packet, and a PES start’s decode time (its DTS, else its PTS)', () => {
    const key = fakeTs.video(123_456, { keyframe: true });
    expect([startsUnit(key), randomAccess(key), decodeTime(key), pcrOf(key)]).toEqual([true, true, 123_456, 123_456]);
    const frame = fakeTs.video(126_456);
    expect([randomAccess(frame), decodeTime(frame), pcrOf(frame)]).toEqual([false, 126_456, null]);
    expect(decodeTime(fakeTs.audio(5_000))).toBe(5_000);
    expect([startsUnit(fakeTs.rest(fakeTs.VIDEO)), decodeTime(fakeTs.rest(fakeTs.VIDEO))]).toEqual([false, null]);
  });

  it('moves PTS, DTS and PCR by a delta on the 33-bit clock, wrapping, and nothing else', () => {
    const key = fakeTs.video(WRAP - 1_000, { keyframe: true, tag: 9 });
    const before = Buffer.from(key);
    shiftTimestamps(key, 4_000);
    expect(decodeTime(key)).toBe(3_000);
    expect(pcrOf(key)).toBe(3_000);
    // The PTS, one frame after the DTS, moved alike.
    expect(key.subarray(0, key.length - 1)).toEqual(
      fakeTs.video(3_000, { keyframe: true }).subarray(0, key.length - 1),
    );
    expect(key.at(-1)).toBe(9);
    shiftTimestamps(key, -4_000);
    expect(key).toEqual(before);
    const rest = fakeTs.rest(fakeTs.VIDEO, 3);
    const untouched = Buffer.from(rest);
    shiftTimestamps(rest, 90_000);
    expect(rest).toEqual(untouched);
  });
});
