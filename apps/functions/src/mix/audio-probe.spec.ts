import { AudioProbe, probeArgs } from './audio-probe';
import { FakeRunner, until } from './mix.fakes';

describe('AudioProbe', () => {
  const source = { kind: 'network', scheme: 'rtmp', url: 'rtmp://cams.example.com/live/screen' } as const;
  const opts = { inputTimeoutS: 2, caFile: '/etc/ssl/certs/ca-certificates.crt' };

  it('tells an input with sound from one with only a picture, as ffmpeg lists its streams', async () => {
    const runner = new FakeRunner();
    const probe = new AudioProbe((args) => Promise.resolve(runner.start('ffmpeg', args)), opts);
    const screen = probe.hasAudio(source);
    await until(() => runner.runs.length === 1, 'the probe started');
    expect(runner.run(1).args).toEqual(probeArgs(source, opts));
    runner.run(1).say('  Stream #0:0: Video: h264 (High), yuv420p, 1280x720, 30 fps');
    runner.run(1).exit(1);
    await expect(screen).resolves.toBe(false);

    const camera = probe.hasAudio(source);
    await until(() => runner.runs.length === 2, 'the second probe started');
    runner.run(2).say('  Stream #0:0: Video: h264 (High)\n  Stream #0:1: Audio: aac (LC), 48000 Hz, stereo');
    runner.run(2).exit(1);
    await expect(camera).resolves.toBe(true);
  });

  it('gives up on an input that does not open within twice its timeout: unknown', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    try {
      const runner = new FakeRunner();
      const probe = new AudioProbe((args) => Promise.resolve(runner.start('ffmpeg', args)), opts);
      const stuck = probe.hasAudio(source);
      await until(() => runner.runs.length === 1, 'the probe started');
      await jest.advanceTimersByTimeAsync(3_999);
      expect(runner.run(1).signals).toEqual([]);
      await jest.advanceTimersByTimeAsync(1);
      await expect(stuck).resolves.toBeNull();
      expect(runner.run(1).signals).toEqual(['SIGKILL']);
    } finally {
      jest.useRealTimers();
    }
  });
});
