// Shared pieces of the k6 scenarios: development tokens, the API, and a Socket.IO v4
// client over k6's WebSocket (Engine.IO 4 framing: "40" connect, "42" event, "43" ack, "2"/"3" ping/pong).
import { WebSocket } from 'k6/experimental/websockets';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import http from 'k6/http';

export const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:3000';
const SECRET = __ENV.JWT_SECRET;
const ISSUER = __ENV.JWT_ISSUER || 'dispatch-mesh';
const AUDIENCE = __ENV.JWT_AUDIENCE || 'dispatch-mesh-api';

/** An HS256 token signed with the stack's JWT_SECRET (from the environment, never from here). */
export function token(sub, roles) {
  if (!SECRET) throw new Error('set JWT_SECRET to the stack’s secret');
  const b64 = (obj) => encoding.b64encode(JSON.stringify(obj), 'rawurl');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, roles, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 3600 })}`;
  return `${body}.${crypto.hmac('sha256', SECRET, body, 'base64rawurl')}`;
}

export function api(method, path, tokenValue, body, tags) {
  return http.request(method, `${BASE_URL}${path}`, body === undefined ? null : JSON.stringify(body), {
    headers: { authorization: `Bearer ${tokenValue}`, 'content-type': 'application/json' },
    tags,
  });
}

/** A point `northM` north and `eastM` east of `origin`. */
export function offset(origin, northM, eastM) {
  return {
    lat: origin.lat + northM / 111320,
    lng: origin.lng + eastM / (111320 * Math.cos((origin.lat * Math.PI) / 180)),
  };
}

/**
 * Opens a Socket.IO connection with the token; `handlers` maps server events to
 * functions. Answers { emit(event, payload, onAck), close() } once connected (onOpen).
 */
export function socketIo(tokenValue, handlers, onOpen) {
  const ws = new WebSocket(`${BASE_URL.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const acks = {};
  let nextAck = 0;
  const client = {
    emit(event, payload, onAck) {
      if (!onAck) return ws.send(`42${JSON.stringify([event, payload])}`);
      const id = nextAck++;
      acks[id] = onAck;
      ws.send(`42${id}${JSON.stringify([event, payload])}`);
    },
    close() {
      ws.close();
    },
  };
  ws.onmessage = (message) => {
    const packet = String(message.data);
    if (packet === '2') return ws.send('3');
    if (packet.startsWith('0')) return ws.send(`40${JSON.stringify({ token: tokenValue })}`);
    if (packet.startsWith('40')) return onOpen(client);
    if (packet.startsWith('44')) throw new Error(`socket refused: ${packet.slice(2)}`);
    if (packet.startsWith('43')) {
      const bracket = packet.indexOf('[');
      const id = Number(packet.slice(2, bracket));
      const done = acks[id];
      delete acks[id];
      if (done) done(JSON.parse(packet.slice(bracket))[0]);
      return;
    }
    if (packet.startsWith('42')) {
      const [event, payload] = JSON.parse(packet.slice(2));
      if (handlers[event]) handlers[event](payload);
    }
  };
  return ws;
}
