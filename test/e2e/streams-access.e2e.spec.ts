import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  MeshApiError,
  MeshClient,
  NotFoundError,
  UnauthorizedError,
  type MeshResponse,
} from '@mesh/client';
import type { ProblemDetails, StreamView, StreamWatch } from '@mesh/contracts';
import { startStack, type RunningStack } from '@mesh/harness';
import { mixProcesses } from '@mesh/harness';
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
    stream = await host.client.streams.setParticipant(stream.id, guest.id, {
      inputUrl: 'rtmp://127.0.0.1:1935/live/guest-secret-key',
    });
  });
  afterAll(async () => {
    rooms?.close();
    await stack?.stop();
  });

  async function unchanged(): Promise<void> {
    expect(await host.client.streams.get(stream.id)).toMatchObject({
      revision: stream.revision,
      participants: stream.participants,
      layout: stream.layout,
      status: 'idle',
    });
    expect(mixProcesses(stream.id)).toEqual([]);
  }

  /** A raw exchange's answer: the problem+json API.md names, naming `path` among its errors. */
  function expectProblem(res: MeshResponse, status: number, path?: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = res.body as ProblemDetails;
    expect(problem).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    if (path) expect(problem.errors?.map((e) => e.path)).toContain(path);
  }

  /**
   * A typed call's refusal: the error for the status API.md names, carrying the gateway's own
   * problem details (an answer that is not one reaches the client as an `about:blank` problem).
   */
  async function expectRefused(call: Promise<unknown>, type: typeof MeshApiError, path?: string) {
    const error = await call.then(
      () => {
        throw new Error(`expected a ${type.name}, but the call succeeded`);
      },
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(type);
    const problem = (error as MeshApiError).problem;
    expect(problem).toMatchObject({
      type: expect.stringMatching(/^\/problems\//),
      title: expect.any(String),
      detail: expect.any(String),
    });
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
    await expectRefused(
      host.client.streams.setParticipant(stream.id, 'someone', { inputUrl: inputUrl }),
      BadRequestError,
      'body.inputUrl',
    );
    await unchanged();
  });

  it('refuses bodies that break the contract (400 naming the field)', async () => {
    await expectRefused(
      host.client.streams.setParticipant(stream.id, 'someone', { inputUrl: 'test:pattern', volume: 3 }),
      BadRequestError,
      'body.volume',
    );
    // No typed call sends a layout the contract does not name, or a field it does not have.
    expectProblem(await host.api('PUT', `/v1/streams/${stream.id}/layout`, { layout: 'mosaic' }), 400, 'body.layout');
    await expectRefused(
      host.client.streams.setLayout(stream.id, { layout: 'speaker', focus: 'not-in-the-room' }),
      BadRequestError,
      'body.focus',
    );
    expectProblem(await host.api('POST', '/v1/streams', { title: 'x', owner: 'me' }), 400, 'body.owner');
    await expectRefused(
      host.client.streams.setParticipant(stream.id, 'u'.repeat(201), { inputUrl: 'test:pattern' }),
      BadRequestError,
      'path.userId',
    );
    await expectRefused(
      host.client.streams.create({ title: 'x', output: { rtmpUrl: 'file:///tmp/out.flv' } }),
      BadRequestError,
      'body.output.rtmpUrl',
    );
    await expectRefused(
      host.client.streams.create({ title: 'x', output: { rtmpUrl: 'rtmp://evil.example.org/app/key' } }),
      BadRequestError,
      'body.output.rtmpUrl',
    );
    await unchanged();
  });

  it('refuses a participant beyond MIX_MAX_INPUTS with a 409', async () => {
    const full = await rooms.stream(
      host,
      Array.from({ length: 9 }, () => 'test:pattern'),
    );
    await expectRefused(
      host.client.streams.setParticipant(full.id, 'one-too-many', { inputUrl: 'test:pattern' }),
      ConflictError,
    );
    const after = await host.client.streams.get(full.id);
    expect(after.participants).toHaveLength(9);
    expect(after.revision).toBe(full.revision);
  });

  it('lets the host, its participants and dispatchers see the room; only the host sees URLs whole', async () => {
    const asHost = await host.client.streams.get(stream.id);
    expect(asHost.participants[1]?.inputUrl).toBe('rtmp://127.0.0.1:1935/live/guest-secret-key');
    for (const viewer of [guest, dispatcher]) {
      const seen = await viewer.client.streams.get(stream.id);
      expect(seen.participants[1]?.inputUrl).toBe('rtmp://127.0.0.1:1935/…');
      expect(JSON.stringify(seen)).not.toContain('secret');
    }
    await expectRefused(otherHost.client.streams.get(stream.id), NotFoundError);
    await expectRefused(customer.client.streams.get(stream.id), NotFoundError);
    await expectRefused(host.client.streams.get('01JZZZZZZZZZZZZZZZZZZZZZZZ'), NotFoundError);
  });

  it('refuses every change from anyone but the host: 404 to strangers, 403 to those who may look', async () => {
    const changes: ((who: Person) => Promise<StreamView>)[] = [
      (who) => who.client.streams.setParticipant(stream.id, 'intruder', { inputUrl: 'test:pattern' }),
      (who) => who.client.streams.removeParticipant(stream.id, guest.id),
      (who) => who.client.streams.setLayout(stream.id, { layout: 'pip' }),
      (who) => who.client.streams.start(stream.id),
      (who) => who.client.streams.stop(stream.id),
    ];
    for (const change of changes) {
      await expectRefused(change(otherHost), NotFoundError);
      await expectRefused(change(guest), ForbiddenError);
      await expectRefused(change(dispatcher), ForbiddenError);
      await expectRefused(change(customer), ForbiddenError);
    }
    await expectRefused(customer.client.streams.create({ title: 'mine' }), ForbiddenError);
    const anonymous = new MeshClient({ baseUrl: stack.baseUrl, retry: { attempts: 0 } });
    await expectRefused(anonymous.streams.get(stream.id), UnauthorizedError);
    await unchanged();
  });

  it('lets only those who may see the room watch it over the socket', async () => {
    await guest.live.watchStream(stream.id);
    await expect(otherHost.live.watchStream(stream.id)).rejects.toBeInstanceOf(NotFoundError);
    const malformed = { stream: stream.id } as unknown as StreamWatch;
    await expect(guest.live.send('stream.subscribe', malformed)).rejects.toBeInstanceOf(BadRequestError);
  });

  it('serves only the mix’s own files under /live, even with a valid playback token', async () => {
    const grant = await host.client.streams.playback(stream.id);
    const token = grant.url.split('/')[3] ?? '';
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
    const listed = await dispatcher.client.streams.list({ limit: 200 });
    const ours = listed.items.find((s) => s.id === stream.id);
    expect(ours?.participants[1]?.inputUrl).toBe('rtmp://127.0.0.1:1935/…');
    await dispatcher.client.couriers.list();
    for (const who of [host, guest, customer]) {
      await expectRefused(who.client.streams.list(), ForbiddenError);
      await expectRefused(who.client.couriers.list(), ForbiddenError);
    }
    await expectRefused(dispatcher.client.streams.list({ limit: 0 }), BadRequestError, 'query.limit');
    await expectRefused(dispatcher.client.couriers.list({ limit: 99_999 }), BadRequestError, 'query.limit');
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
