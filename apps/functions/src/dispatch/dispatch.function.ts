import { Inject, Injectable } from '@nestjs/common';
import type { MeshEvent } from '@mesh/bus';
import { Clock } from '@mesh/clock';
import { AppConfig } from '@mesh/config';
import { newId, rooms, type OrderView } from '@mesh/contracts';
import {
  DISPATCHABLE,
  DISPATCH_STALL_MS,
  DispatchStore,
  announced,
  answerOffer,
  awaitCouriers,
  commitFresh,
  giveUp,
  makeOffer,
  radiusForAttempt,
  rankCandidates,
  type StoredOrder,
} from '@mesh/dispatch';
import { CourierGeoRepository, Markets, roundMetres } from '@mesh/geo';
import { ProblemCode, ProblemError } from '@mesh/problem';
import { ClientPush } from '@mesh/realtime';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';
import type { MeshFunction } from '../host/mesh-function';

type DispatchEvents =
  'order.created' | 'order.offer_declined' | 'order.offer_expired' | 'order.redispatched' | 'order.deadline_reached';

const SOURCE = '/functions/dispatch';
/** Candidates read per search, beyond those the order already excludes. */
const CANDIDATES_PER_SEARCH = 10;
/** Searches that found couriers but lost every one of them to other orders, before waiting for the deadline. */
const MAX_LOST_RACES = 20;

/**
 * Moves orders from `pending`/`dispatching` to an offer to the best available
 * courier (who is sent the offer at once), widening the search per attempt, or
 * to `unassigned` when nobody is within reach. Runs on every event that leaves an order waiting for dispatch,
 * one order at a time (events are keyed by order).
 */
@Injectable()
export class DispatchFunction implements MeshFunction<DispatchEvents> {
  readonly name = 'dispatch';
  readonly topic = 'orders';
  readonly accepts = [
    'order.created',
    'order.offer_declined',
    'order.offer_expired',
    'order.redispatched',
    'order.deadline_reached',
  ] as const;

  constructor(
    private readonly store: DispatchStore,
    private readonly couriers: CourierGeoRepository,
    private readonly markets: Markets,
    private readonly push: ClientPush,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  async handle(event: MeshEvent<DispatchEvents>): Promise<void> {
    switch (event.type) {
      case 'order.created':
        await this.record(event.data.order, event.data.dispatch?.market);
        return this.advance(event.partitionkey);
      case 'order.deadline_reached':
        return this.onDeadline(event.data.orderId);
      case 'order.offer_declined':
      case 'order.offer_expired':
      case 'order.redispatched':
        return this.advance(event.partitionkey);
    }
  }

  /**
   * The gateway records a placed order after Kafka has it; should that write have
   * failed, this one lands. A commit of a new order does nothing when it exists.
   */
  private async record(order: OrderView, market: string | undefined): Promise<void> {
    const stored: StoredOrder = {
      ...order,
      offerId: null,
      excluded: [],
      version: 0,
      market: market ?? this.markets.of(order.pickup) ?? this.markets.home,
    };
    await this.store.commit({
      order: { before: null, after: stored },
      deadlineAtMs: this.clock.nowMs() + DISPATCH_STALL_MS,
    });
  }

  private async onDeadline(orderId: string): Promise<void> {
    // Each deadline move is conditional on the order as read: a commit or a restore since then wins.
    const order = await this.store.order(orderId);
    if (!order) return void (await this.store.setDeadline(orderId, null, null));
    if (DISPATCHABLE.includes(order.status)) return this.advance(orderId, true);
    if (order.status !== 'offered' || !order.offerId) {
      return void (await this.store.setDeadline(orderId, null, order.version));
    }
    const offer = await this.store.offer(order.offerId);
    if (offer?.status === 'pending' && this.clock.nowMs() < Date.parse(offer.expiresAt)) {
      return void (await this.store.setDeadline(orderId, Date.parse(offer.expiresAt), order.version));
    }
    await this.expire(orderId);
    return this.advance(orderId);
  }

  private async expire(orderId: string): Promise<void> {
    try {
      await commitFresh(this.store, async () => {
        const order = await this.store.order(orderId);
        const offer = order?.offerId ? await this.store.offer(order.offerId) : null;
        if (!order || !offer) throw new ProblemError(ProblemCode.Conflict, 'no live offer');
        const courier = await this.store.courier(offer.courierId, order.market);
        const change = answerOffer(order, offer, courier, 'expire', this.clock.now());
        return announced(change, 'order.offer_expired', SOURCE);
      });
    } catch (err) {
      // Answered or cancelled meanwhile: nothing left to expire.
      if (!(err instanceof ProblemError && err.code === ProblemCode.Conflict)) throw err;
    }
  }

  /**
   * The free couriers around the pickup, best first: from the attempt's radius,
   * doubling up to the largest at once (a courier 4 km away now beats waiting for one at 2 km).
   */
  private async search(order: StoredOrder, attempt: number, excluded: Set<string>) {
    const { maxRadiusM, initialRadiusM, staleAfterMs } = this.config.dispatch;
    for (let radiusM = radiusForAttempt(attempt, { initialRadiusM, maxRadiusM }); ; radiusM *= 2) {
      const found = await this.couriers.nearestAvailable({
        ...order.pickup,
        market: order.market,
        radiusM: Math.min(radiusM, maxRadiusM),
        limit: CANDIDATES_PER_SEARCH + excluded.size,
        fixedSinceMs: this.clock.nowMs() - staleAfterMs,
      });
      const ranked = rankCandidates(order.pickup, found, excluded);
      if (ranked.length > 0 || radiusM >= maxRadiusM) return ranked;
    }
  }

  /**
   * One search per attempt: offers the order to the best courier it can claim;
   * when nobody is free within reach, spends the attempt and waits
   * (DISPATCH_RETRY_S, doubling) for the next one; gives the order up only when its
   * last attempt found nobody. `due` is set when the order's deadline called: a
   * wait is over then, whatever this process's clock says.
   */
  private async advance(orderId: string, due = false): Promise<void> {
    const { maxAttempts, offerTtlMs, retryMs } = this.config.dispatch;
    let lostRaces = 0;
    reread: for (;;) {
      const order = await this.store.order(orderId);
      if (!order || !DISPATCHABLE.includes(order.status)) return;
      // A redelivered or early event must not spend the next attempt before its time; the deadline will call.
      if (!due && order.retryAtMs && this.clock.nowMs() < order.retryAtMs) return;
      const attempt = Math.min(order.attempts + 1, maxAttempts);
      const excluded = new Set(order.excluded);
      const ranked = order.attempts >= maxAttempts ? [] : await this.search(order, attempt, excluded);
      if (ranked.length === 0) {
        if (attempt < maxAttempts && order.attempts < maxAttempts) {
          const timing = { retryBaseMs: retryMs, emptySearches: order.emptySearches ?? 0 };
          if (!(await this.store.commit(awaitCouriers(order, attempt, timing, this.clock.now())))) continue;
          return;
        }
        if (!(await this.store.commit(announced(giveUp(order, attempt, this.clock.now()), 'order.unassigned', SOURCE))))
          continue;
        return;
      }
      for (const candidate of ranked) {
        const courier = await this.store.courier(candidate.id, order.market);
        if (courier.status !== 'available' || !courier.location) continue;
        const offer = makeOffer(order, courier, {
          offerId: newId(),
          attempt,
          distanceM: roundMetres(candidate.distanceM),
          ttlMs: offerTtlMs,
          now: this.clock.now(),
        });
        const change = announced(offer, 'order.offered', SOURCE);
        if (await this.store.commit(change)) {
          // The offer goes to the courier from here, a Kafka round trip sooner than through order-updates.
          const { courierId, status: _status, ...view } = change.offer.after;
          // Not awaited: the courier's app is sent an open offer again when it reconnects, should this be lost.
          this.push.emit(rooms.courier(courierId), 'offer.created', view).catch((err: unknown) => {
            this.logger.warn({ err, orderId }, 'offer not pushed; the courier gets it on reconnecting');
          });
          if (!order.timeline.some((step) => step.status === 'offered')) {
            this.metrics.dispatchLatency.observe((this.clock.nowMs() - Date.parse(order.createdAt)) / 1000);
          }
          return;
        }
        if ((await this.store.order(orderId))?.version !== order.version) continue reread;
      }
      // Every candidate was claimed by another order first; search again at the same radius.
      if (++lostRaces > MAX_LOST_RACES) {
        this.logger.warn({ orderId }, 'dispatch kept losing couriers to other orders; the deadline will retry');
        return;
      }
    }
  }
}
