import { Inject, Optional } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import { JwtVerifier } from '@mesh/auth';
import { AppConfig } from '@mesh/config';
import {
  LocationReport,
  OfferRef,
  OrderRef,
  OrderWatch,
  rooms,
  SocketAuth,
  StreamRef,
  StreamWatch,
  type AckReply,
  type ClientToServerEvents,
  type OrderView,
  type Principal,
  type ServerToClientEvents,
} from '@mesh/contracts';
import { parseOrThrow } from '@mesh/problem';
import { InProcessClientPush } from '@mesh/realtime';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import type { Server, Socket } from 'socket.io';
import { requireRole } from '../auth/jwt-auth.guard';
import { CouriersService } from '../couriers/couriers.service';
import { OrdersService } from '../orders/orders.service';
import { StreamsService } from '../streams/streams.service';
import { RequestBudget, SOCKET_EVENT_BUDGET, budgetKey } from '../rate-limit/request-budget';
import { acknowledge } from './socket-ack';
import { SocketRecovery, type ResumeOffsets } from './socket-recovery';

interface SocketData {
  principal: Principal;
  /** The offsets the client resumes from (API.md "Missed events"), if it gave valid ones. */
  resume?: ResumeOffsets;
}
type MeshServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type MeshSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** The longest a timer may be armed for (setTimeout's 32-bit limit). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Socket.IO entry point: the JWT handshake, the rooms of API.md, and the
 * client events. Each handler validates, checks the role, and makes one call.
 */
@WebSocketGateway({ serveClient: false })
export class RealtimeGateway
  implements OnGatewayInit<MeshServer>, OnGatewayConnection<MeshSocket>, OnGatewayDisconnect<MeshSocket>
{
  /** Open sockets per user on this gateway (SOCKETS_PER_USER at most). */
  private readonly socketsByUser = new Map<string, number>();

  constructor(
    private readonly verifier: JwtVerifier,
    private readonly couriers: CouriersService,
    private readonly orders: OrdersService,
    private readonly streams: StreamsService,
    private readonly recovery: SocketRecovery,
    @Inject(SOCKET_EVENT_BUDGET) private readonly budget: RequestBudget,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() private readonly inProcessPush?: InProcessClientPush,
  ) {}

  afterInit(server: MeshServer): void {
    server.use((socket, next) => {
      const auth = SocketAuth.safeParse(socket.handshake.auth);
      const token = (socket.handshake.auth as { token?: unknown }).token;
      // Offsets that do not parse are no offsets: the client is told it did not recover, and refetches.
      if (auth.success && auth.data.resume) socket.data.resume = auth.data.resume;
      this.verifier.verify(typeof token === 'string' ? token : undefined).then(
        (principal) => {
          // Counted when admitted, not once connected, so a burst of handshakes cannot slip past the cap.
          const open = this.socketsByUser.get(principal.sub) ?? 0;
          if (open >= this.config.socketsPerUser) {
            next(new Error('too many connections'));
            return;
          }
          this.socketsByUser.set(principal.sub, open + 1);
          socket.once('disconnect', () => this.release(principal.sub));
          socket.data.principal = principal;
          next();
        },
        () => next(new Error('unauthorized')),
      );
    });
    this.inProcessPush?.attach(server);
  }

  async handleConnection(socket: MeshSocket): Promise<void> {
    const { principal } = socket.data;
    const joined = [rooms.user(principal.sub)];
    if (principal.roles.includes('courier')) joined.push(rooms.courier(principal.sub), rooms.couriers);
    if (principal.roles.includes('merchant')) joined.push(rooms.merchant(principal.sub));
    if (principal.roles.includes('host')) joined.push(rooms.host(principal.sub));
    if (principal.roles.includes('dispatcher')) joined.push(rooms.dispatchers);
    socket.on('courier.location', (payload: unknown, ack?: unknown) => {
      // Only a real acknowledgement callback is called: a client sending extra arguments must not break the handler.
      void this.onCourierLocation(socket, payload).then((reply) => {
        if (typeof ack === 'function') (ack as (r: AckReply) => void)(reply);
      });
    });
    const recovered = await this.recovery
      .connect(socket, principal, joined, socket.data.resume)
      .catch((err: unknown) => {
        this.logger.warn({ err }, 'missed events not replayed');
        return Promise.resolve(socket.join(joined)).then(() => false);
      });
    socket.emit('recovery', { recovered });
    this.metrics.socketConnections.inc();
    if (principal.roles.includes('courier') && !recovered) {
      // An offer made while this courier's socket was away (and not replayed): send it now rather than let it lapse.
      this.orders.openOffer(principal.sub).then(
        (offer) => offer && socket.emit('offer.created', offer),
        (err: unknown) => this.logger.warn({ err, courierId: principal.sub }, 'open offer not replayed'),
      );
    }
    // A socket lives no longer than the token it was opened with.
    const untilExpiry = Math.min(principal.exp * 1000 - Date.now(), MAX_TIMER_MS);
    const expiry = setTimeout(() => socket.disconnect(true), Math.max(0, untilExpiry));
    socket.once('disconnect', () => clearTimeout(expiry));
  }

  handleDisconnect(): void {
    this.metrics.socketConnections.dec();
  }

  private release(sub: string): void {
    const open = (this.socketsByUser.get(sub) ?? 1) - 1;
    if (open > 0) this.socketsByUser.set(sub, open);
    else this.socketsByUser.delete(sub);
  }

  /**
   * The hottest event of the product (every courier, every few seconds): bound on
   * the socket directly rather than through Nest's message pipeline, which costs
   * several times the work of the handler itself at thousands of updates a second.
   */
  private onCourierLocation(socket: MeshSocket, payload: unknown): Promise<AckReply> {
    return this.answer('courier.location', socket, async () => {
      requireRole(socket.data.principal, ['courier']);
      await this.couriers.reportLocation(socket.data.principal, parseOrThrow(LocationReport, payload));
      return {};
    });
  }

  @SubscribeMessage('order.subscribe')
  onOrderSubscribe(
    @ConnectedSocket() socket: MeshSocket,
    @MessageBody() payload: unknown,
  ): Promise<AckReply<{ recovered?: boolean }>> {
    return this.watch('order.subscribe', socket, payload, 'join');
  }

  @SubscribeMessage('order.unsubscribe')
  onOrderUnsubscribe(@ConnectedSocket() socket: MeshSocket, @MessageBody() payload: unknown): Promise<AckReply> {
    return this.watch('order.unsubscribe', socket, payload, 'leave');
  }

  @SubscribeMessage('offer.accept')
  onOfferAccept(
    @ConnectedSocket() socket: MeshSocket,
    @MessageBody() payload: unknown,
  ): Promise<AckReply<{ order: OrderView }>> {
    return this.answer('offer.accept', socket, async () => {
      requireRole(socket.data.principal, ['courier']);
      const { offerId } = parseOrThrow(OfferRef, payload);
      return { order: await this.orders.answerOffer(socket.data.principal, offerId, 'accept') };
    });
  }

  @SubscribeMessage('offer.decline')
  onOfferDecline(@ConnectedSocket() socket: MeshSocket, @MessageBody() payload: unknown): Promise<AckReply> {
    return this.answer('offer.decline', socket, async () => {
      requireRole(socket.data.principal, ['courier']);
      const { offerId } = parseOrThrow(OfferRef, payload);
      await this.orders.answerOffer(socket.data.principal, offerId, 'decline');
      return {};
    });
  }

  @SubscribeMessage('stream.subscribe')
  onStreamSubscribe(
    @ConnectedSocket() socket: MeshSocket,
    @MessageBody() payload: unknown,
  ): Promise<AckReply<{ recovered?: boolean }>> {
    return this.watch('stream.subscribe', socket, payload, 'join');
  }

  @SubscribeMessage('stream.unsubscribe')
  onStreamUnsubscribe(@ConnectedSocket() socket: MeshSocket, @MessageBody() payload: unknown): Promise<AckReply> {
    return this.watch('stream.unsubscribe', socket, payload, 'leave');
  }

  /**
   * Joins or leaves an order's or a stream's room: only for those allowed to
   * `GET` it; anyone else is told it does not exist (404). A subscribe with an
   * `offset` first gets what was pushed to the room since (ack: `recovered`).
   */
  private watch(
    event: 'order.subscribe' | 'order.unsubscribe' | 'stream.subscribe' | 'stream.unsubscribe',
    socket: MeshSocket,
    payload: unknown,
    how: 'join' | 'leave',
  ): Promise<AckReply<{ recovered?: boolean }>> {
    return this.answer(event, socket, async () => {
      const who = socket.data.principal;
      let room: string;
      let offset: string | undefined;
      if (event.startsWith('order.')) {
        const ref: OrderWatch = parseOrThrow(how === 'join' ? OrderWatch : OrderRef, payload);
        [room, offset] = [rooms.order(ref.orderId), ref.offset];
        // Leaving needs no access (one whose access ended may still leave); joining does.
        if (how === 'join') await this.orders.visible(who, ref.orderId);
      } else {
        const ref: StreamWatch = parseOrThrow(how === 'join' ? StreamWatch : StreamRef, payload);
        [room, offset] = [rooms.stream(ref.streamId), ref.offset];
        if (how === 'join') await this.streams.visible(who, ref.streamId);
      }
      if (how === 'leave') {
        await socket.leave(room);
        return {};
      }
      const recovered = await this.recovery.watch(socket, room, offset);
      return offset === undefined ? {} : { recovered };
    });
  }

  /** Charges the event to its user's socket budget, runs it, and acknowledges its outcome. */
  private async answer<T extends object>(
    event: string,
    socket: MeshSocket,
    work: () => Promise<T>,
  ): Promise<AckReply<T>> {
    const reply = await acknowledge(
      async () => {
        await this.budget.spend(budgetKey(socket.data.principal.sub));
        return work();
      },
      (err) => this.logger.error({ err, event }, 'socket handler failed'),
    );
    this.metrics.socketEvents.inc({ event, outcome: reply.ok ? 'ok' : String(reply.error.status) });
    return reply;
  }
}
