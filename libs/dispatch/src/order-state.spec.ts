import { ORDER_STATUSES, type OrderStatus } from '@mesh/contracts';
import { ORDER_ACTIONS, isTerminal, nextStatus, transitionPath, type OrderAction } from './order-state';

/** API.md's order life, written out once as the expectation: every (status, action) pair not here is refused. */
const ALLOWED: Partial<Record<OrderStatus, Partial<Record<OrderAction, OrderStatus>>>> = {
  pending: { offer: 'offered', give_up: 'unassigned', await_couriers: 'dispatching', cancel: 'cancelled' },
  dispatching: { offer: 'offered', give_up: 'unassigned', await_couriers: 'dispatching', cancel: 'cancelled' },
  offered: { accept: 'assigned', decline: 'dispatching', expire: 'dispatching', cancel: 'cancelled' },
  assigned: { pickup: 'picked_up', cancel: 'cancelled' },
  picked_up: { deliver: 'delivered', cancel: 'cancelled' },
  unassigned: { redispatch: 'dispatching', cancel: 'cancelled' },
};

describe('the order state machine', () => {
  const pairs = ORDER_STATUSES.flatMap((from) => ORDER_ACTIONS.map((action) => [from, action] as const));

  it.each(pairs)('from %s, %s leads where API.md says, or nowhere', (from, action) => {
    expect(nextStatus(from, action)).toBe(ALLOWED[from]?.[action] ?? null);
  });

  it('passes through dispatching when an order is offered or given up straight from pending', () => {
    expect(transitionPath('pending', 'offer')).toEqual(['dispatching', 'offered']);
    expect(transitionPath('pending', 'give_up')).toEqual(['dispatching', 'unassigned']);
    expect(transitionPath('dispatching', 'offer')).toEqual(['offered']);
  });

  it('ends only in delivered and cancelled', () => {
    expect(ORDER_STATUSES.filter(isTerminal)).toEqual(['delivered', 'cancelled']);
  });
});
