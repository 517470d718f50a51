import { describeExit } from './mix-jobs';

const spec = {
  participants: [
    { userId: 'alice', inputUrl: 'rtmp://127.0.0.1:1/live/alice-key', volume: 1, muted: false },
    { userId: 'bob', inputUrl: 'srt://127.0.0.1:9000?streamid=bob-key', volume: 1, muted: false },
  ],
  output: { rtmpUrl: 'rtmp://ingest.example.com/app/push-key' },
};

describe('why a mix ended', () => {
  it('names the participant whose input failed, never its URL', () => {
    const reason = describeExit(
      1,
      null,
      [
        '[tcp @ 0x55] Connection to tcp://127.0.0.1:1 failed: Connection refused',
        'rtmp://127.0.0.1:1/live/alice-key: Connection refused',
      ],
      spec,
    );
    expect(reason).toBe('the input of alice failed: Connection refused');
  });

  it('otherwise gives ffmpeg’s last words, with URLs replaced by who they belong to', () => {
    const reason = describeExit(
      1,
      null,
      [
        '[flv @ 0x1] Failed to update header with rtmp://ingest.example.com/app/push-key and srt://127.0.0.1:9000?streamid=bob-key',
      ],
      spec,
    );
    expect(reason).toBe('ffmpeg exited with code 1: Failed to update header with <rtmp output> and <input of bob>');
    expect(describeExit(null, 'SIGKILL', [], spec)).toBe('ffmpeg was killed by SIGKILL');
  });
});
