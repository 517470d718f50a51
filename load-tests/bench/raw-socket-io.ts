import WebSocket from 'ws';

/**
 * A minimal Socket.IO v4 client over a raw WebSocket (Engine.IO 4 framing), for
 * load generation: it sends pre-serialised event packets and matches acks by id,
 * at a fraction of socket.io-client's CPU, so the generator does not starve the
 * server it measures on the same machine. Namespace `/` only; no reconnection.
 */
export class RawSocketIo {
  private nextAckId = 0;
  private readonly pendingAcks = new Map<number, (reply: unknown) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => this.onPacket(text(data)));
  }

  static connect(baseUrl: string, token: string): Promise<RawSocketIo> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      const onHandshake = (data: WebSocket.RawData) => {
        const packet = text(data);
        if (packet.startsWith('0')) ws.send(`40${JSON.stringify({ token })}`);
        else if (packet.startsWith('40')) {
          ws.off('message', onHandshake);
          resolve(new RawSocketIo(ws));
        } else if (packet.startsWith('44')) reject(new Error(`connect_error ${packet.slice(2)}`));
      };
      ws.on('message', onHandshake);
      ws.once('error', reject);
    });
  }

  /** Emits an event; `onAck` gets the server's acknowledgement. */
  emit(event: string, payload: unknown, onAck?: (reply: unknown) => void): void {
    if (!onAck) {
      this.ws.send(`42${JSON.stringify([event, payload])}`);
      return;
    }
    const id = this.nextAckId++;
    this.pendingAcks.set(id, onAck);
    this.ws.send(`42${id}${JSON.stringify([event, payload])}`);
  }

  close(): void {
    this.ws.close();
  }

  private onPacket(packet: string): void {
    if (packet === '2') {
      this.ws.send('3'); // Engine.IO ping → pong
      return;
    }
    if (!packet.startsWith('43')) return;
    const bracket = packet.indexOf('[');
    const id = Number(packet.slice(2, bracket));
    const done = this.pendingAcks.get(id);
    if (!done) return;
    this.pendingAcks.delete(id);
    done((JSON.parse(packet.slice(bracket)) as unknown[])[0]);
  }
}

/** Socket.IO's text frames as a string (ws hands them over as a Buffer). */
function text(data: WebSocket.RawData): string {
  return Buffer.isBuffer(data)
    ? data.toString('utf8')
    : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString('utf8');
}
