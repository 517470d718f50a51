import type { OrderStatus } from '@mesh/contracts';

/** Everything that can happen to an order (API.md "Orders", DESIGN.md "The order's life"). */
export const ORDER_ACTIONS = [
  'offer',
  'accept',
  'decline',
  'expire',
  'pickup',
  'deliver',
  'cancel',
  'give_up',
  'await_couriers',
  'redispatch',
] as const;
export type OrderAction = (typeof ORDER_ACTIONS)[number];

const TRANSITIONS: Readonly<Record<OrderAction, { from: readonly OrderStatus[]; to: OrderStatus }>> = {
  // Dispatch starts on the first search; an offer or a give-up straight from `pending` passes through `dispatching`.
  offer: { from: ['pending', 'dispatching'], to: 'offered' },
  give_up: { from: ['pending', 'dispatching'], to: 'unassigned' },
  // A search found nobody free; the next one waits (DISPATCH_RETRY_S, doubling).
  await_couriers: { from: ['pending', 'dispatching'], to: 'dispatching' },
  accept: { from: ['offered'], to: 'assigned' },
  decline: { from: ['offered'], to: 'dispatching' },
  expire: { from: ['offered'], to: 'dispatching' },
  pickup: { from: ['assigned'], to: 'picked_up' },
  deliver: { from: ['picked_up'], to: 'delivered' },
  cancel: { from: ['pending', 'dispatching', 'offered', 'assigned', 'picked_up', 'unassigned'], to: 'cancelled' },
  redispatch: { from: ['unassigned'], to: 'dispatching' },
};

/** Statuses a customer may still cancel from: anything before the courier has the goods. */
export const CUSTOMER_CANCELLABLE: readonly OrderStatus[] = [
  'pending',
  'dispatching',
  'offered',
  'assigned',
  'unassigned',
];

/** Statuses in which the dispatch function is responsible for moving the order on. */
export const DISPATCHABLE: readonly OrderStatus[] = ['pending', 'dispatching'];

/**
 * The statuses an action moves an order through, in order, or null when the
 * action is not allowed from `from`. The last entry is the new status.
 */
export function transitionPath(from: OrderStatus, action: OrderAction): readonly OrderStatus[] | null {
  const rule = TRANSITIONS[action];
  if (!rule.from.includes(from)) return null;
  if (from === 'pending' && (action === 'offer' || action === 'give_up')) return ['dispatching', rule.to];
  return [rule.to];
}

export function nextStatus(from: OrderStatus, action: OrderAction): OrderStatus | null {
  return transitionPath(from, action)?.at(-1) ?? null;
}

export function isTerminal(status: OrderStatus): boolean {
  return ORDER_ACTIONS.every((action) => transitionPath(status, action) === null);
}
