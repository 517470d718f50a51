import type { ProblemDetails, StreamView } from '@mesh/contracts';
import { startStack, type RunningStack } from '@mesh/testing';
import { mixProcesses } from '@mesh/testing';
import { documentedRoutes } from './support/actors';
import { LiveRooms, mixEnv, type Person } from './support/live-room';

/**
 * Who may do what to a live room, and what untrusted input gets (API.md): every
 * refusal is a problem+json with the status API.md names, and changes nothing.
 */
describe('stream access and bad input (real Kafka and Redis)', () => {
  let stack: RunningStack;
  let rooms: LiveRooms;
  let host: Person;
  let otherHost: Person;
  let guest: Person;
  let dispatcher: Person;
  let customer: Person;
  let stream: StreamView;

  beforeAll(async () => {
    stack = await startStack(mixEnv());
    rooms = new LiveRooms(stack);
    [host, otherHost, dispatcher, customer] = await Promise.all([
      rooms.person('host', ['host']),
      rooms.person('host', ['host']),
      rooms.person('dispatcher', ['dispatcher']),
      rooms.person('customer', ['customer']),
    ]);
    // A participant who is also a host of their own rooms: may look, may not change this one.
    guest = await rooms.person('guest', ['host', 'customer']);
    stream = await rooms.stream(host, ['test:color=red']);
    const joined = await host.api<StreamView>('PUT', `/v1/streams/${stream.id}/participants/${guest.id}`, {
      inputUrl: 'rtmp://127.0.0.1:1935/live/guest-secret-key',
    });
    expect(joined.status).toBe(202);
    stream = joined.body;
  });
  afterAll(async () => {
    rooms?.close();
    await stack?.stop();
  });

  async function unchanged(): Promise<void> {
    const now = await host.api<StreamView>('GET', `/v1/streams/${stream.id}`);
    expect(now.body).toMatchObject({
      revision: stream.revision,
      participants: stream.participants,
      layout: stream.layout,
      status: 'idle',
    });
    expect(mixProcesses(stream.id)).toEqual([]);
  }

  function expectProblem(res: { status: number; headers: Headers; body: unknown }, status: number, path?: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = res.body as ProblemDetails;
    expect(problem).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    if (path) expect(problem.errors?.map((e) => e.path)).toContain(path);
  }

  it.each([
    ['a local file', 'file:///etc/passwd'],
    ['the concat protocol', 'concat:/etc/passwd|/etc/hosts'],
    ['a lavfi graph', 'color=c=red:s=640x360'],
    ['an ffmpeg option', '-f lavfi -i anullsrc'],
    ['a host not in MIX_INPUT_HOSTS', 'rtmp://evil.example.org/live/x'],
    ['a private address not in MIX_INPUT_HOSTS', 'http://169.254.169.254/latest/meta-data'],
    ['an unknown test source', 'test:color=chartreuse'],
    ['a URL with credentials', 'rtmp://user:pass@127.0.0.1/live/x'],
  ])('refuses %s as an input with a 400 naming inputUrl', async (_what, inputUrl) => {
    const res = await host.api('PUT', `/v1/streams/${stream.id}/participants/someone`, { inputUrl });
    expectProblem(res, 400, 'body.inputUrl');
    await unchanged();
  });

  it('refuses bodies that break the contract (400 naming the field)', async () => {
    expectProblem(
      await host.api('PUT', `/v1/streams/${stream.id}/participants/someone`, { inputUrl: 'test:pattern', volume: 3 }),
      400,
      'body.volume',
    );
    expectProblem(await host.api('PUT', `/v1/streams/${stream.id}/layout`, { layout: 'mosaic' }), 400, 'body.layout');
    expectProblem(
      await host.api('PUT', `/v1/streams/${stream.id}/layout`, { layout: 'speaker', focus: 'not-in-the-room' }),
      400,
      'body.focus',
    );
    expectProblem(await host.api('POST', '/v1/streams', { title: 'x', owner: 'me' }), 400, 'body.owner');
    expectProblem(
      await host.api('PUT', `/v1/streams/${stream.id}/participants/${'u'.repeat(201)}`, { inputUrl: 'test:pattern' }),
      400,
      'path.userId',
    );
    expectProblem(
      await host.api('POST', '/v1/streams', { title: 'x', output: { rtmpUrl: 'file:///tmp/out.flv' } }),
      400,
      'body.output.rtmpUrl',
    );
    expectProblem(
      await host.api('POST', '/v1/streams', { title: 'x', output: { rtmpUrl: 'rtmp://evil.example.org/app/key' } }),
      400,
      'body.output.rtmpUrl',
    );
    await unchanged();
  });

  it('refuses a participant beyond MIX_MAX_INPUTS with a 409', async () => {
    const full = await rooms.stream(
      host,
      Array.from({ length: 9 }, () => 'test:pattern'),
    );
    const tenth = await host.api('PUT', `/v1/streams/${full.id}/participants/one-too-many`, {
      inputUrl: 'test:pattern',
    });
    expectProblem(tenth, 409);
    const after = await host.api<StreamView>('GET', `/v1/streams/${full.id}`);
    expect(after.body.participants).toHaveLength(9);
    expect(after.body.revision).toBe(full.revision);
  });

  it('lets the host, its participants and dispatchers see the room; only the host sees URLs whole', async () => {
    const asHost = await host.api<StreamView>('GET', `/v1/streams/${stream.id}`);
    expect(asHost.body.participants[1]?.inputUrl).toBe('rtmp://127.0.0.1:1935/live/guest-secret-key');
    for (const viewer of [guest, dispatcher]) {
      const seen = await viewer.api<StreamView>('GET', `/v1/streams/${stream.id}`);
      expect(seen.status).toBe(200);
      expect(seen.body.participants[1]?.inputUrl).toBe('rtmp://127.0.0.1:1935/…');
      expect(JSON.stringify(seen.body)).not.toContain('secret');
    }
    expectProblem(await otherHost.api('GET', `/v1/streams/${stream.id}`), 404);
    expectProblem(await customer.api('GET', `/v1/streams/${stream.id}`), 404);
    expectProblem(await host.api('GET', '/v1/streams/01JZZZZZZZZZZZZZZZZZZZZZZZ'), 404);
  });

  it('refuses every change from anyone but the host: 404 to strangers, 403 to those who may look', async () => {
    const changes: [string, string, unknown?][] = [
      ['PUT', `/v1/streams/${stream.id}/participants/intruder`, { inputUrl: 'test:pattern' }],
      ['DELETE', `/v1/streams/${stream.id}/participants/${guest.id}`],
      ['PUT', `/v1/streams/${stream.id}/layout`, { layout: 'pip' }],
      ['POST', `/v1/streams/${stream.id}/start`],
      ['POST', `/v1/streams/${stream.id}/stop`],
    ];
    for (const [method, path, body] of changes) {
      expectProblem(await otherHost.api(method, path, body), 404);
      expectProblem(await guest.api(method, path, body), 403);
      expectProblem(await dispatcher.api(method, path, body), 403);
      expectProblem(await customer.api(method, path, body), 403);
    }
    expectProblem(await customer.api('POST', '/v1/streams', { title: 'mine' }), 403);
    const anonymous = await fetch(`${stack.baseUrl}/v1/streams/${stream.id}`);
    expect(anonymous.status).toBe(401);
    await unchanged();
  });

  it('lets only those who may see the room watch it over the socket', async () => {
    expect(await guest.socket.emitWithAck('stream.subscribe', { streamId: stream.id })).toEqual({ ok: true });
    const refused = (await otherHost.socket.emitWithAck('stream.subscribe', { streamId: stream.id })) as {
      ok: false;
      error: ProblemDetails;
    };
    expect(refused).toMatchObject({ ok: false, error: { status: 404 } });
    const malformed = (await guest.socket.emitWithAck('stream.subscribe', { stream: stream.id })) as {
      ok: false;
      error: ProblemDetails;
    };
    expect(malformed).toMatchObject({ ok: false, error: { status: 400 } });
  });

  it('serves only the mix’s own files under /live, even with a valid playback token', async () => {
    const grant = await host.api<{ url: string }>('POST', `/v1/streams/${stream.id}/playback`, {});
    expect(grant.status).toBe(201);
    const token = grant.body.url.split('/')[3] ?? '';
    for (const path of [
      `/live/${stream.id}/${token}/..%2f..%2fetc%2fpasswd`,
      `/live/${stream.id}/${token}/secrets.txt`,
      `/live/not-an-id/${token}/index.m3u8`,
      `/live/${stream.id}/${token}/index.m3u8`, // not started: nothing written yet
    ]) {
      const res = await fetch(`${stack.baseUrl}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });

  it('lists rooms and the fleet to dispatchers only, with URLs masked', async () => {
    const rooms = await dispatcher.api<{ items: StreamView[] }>('GET', '/v1/streams?limit=200');
    expect(rooms.status).toBe(200);
    const listed = rooms.body.items.find((s) => s.id === stream.id);
    expect(listed?.participants[1]?.inputUrl).toBe('rtmp://127.0.0.1:1935/…');
    expect((await dispatcher.api('GET', '/v1/couriers')).status).toBe(200);
    for (const who of [host, guest, customer]) {
      expectProblem(await who.api('GET', '/v1/streams'), 403);
      expectProblem(await who.api('GET', '/v1/couriers'), 403);
    }
    expectProblem(await dispatcher.api('GET', '/v1/streams?limit=0'), 400, 'query.limit');
    expectProblem(await dispatcher.api('GET', '/v1/couriers?limit=99999'), 400, 'query.limit');
  });

  it('documents every stream route in the OpenAPI document', async () => {
    expect(await documentedRoutes(stack.baseUrl)).toEqual(
      expect.arrayContaining([
        'POST /v1/streams',
        'GET /v1/streams',
        'GET /v1/couriers',
        'GET /v1/streams/{id}',
        'PUT /v1/streams/{id}/participants/{userId}',
        'DELETE /v1/streams/{id}/participants/{userId}',
        'PUT /v1/streams/{id}/layout',
        'POST /v1/streams/{id}/start',
        'POST /v1/streams/{id}/stop',
        'POST /v1/streams/{id}/playback',
      ]),
    );
  });
});
