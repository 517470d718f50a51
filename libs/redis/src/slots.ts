/*
 * Hash tags: on a Redis Cluster only keys in one hash slot can be touched by one
 * script, and a key's slot is decided by the first `{…}` in its name. Every key a
 * script touches together carries the same tag (DESIGN.md, "Markets").
 */

/** The tag of one market's keys: its orders, offers, couriers, indexes and outbox. */
export function marketTag(market: string): string {
  return `{m:${market}}`;
}

/** The tag of the live rooms' keys: their specs, indexes and outbox (rooms change seldom; one slot holds them). */
export const STREAMS_TAG = '{streams}';

/**
 * The outboxes of a deployment: one per hash tag whose commits write events, so
 * that a change and its event stay one atomic script (DESIGN.md, "A change and its
 * event never part"). The relay relays each.
 */
export function outboxShards(markets: readonly string[]): string[] {
  return [...markets.map(marketTag), STREAMS_TAG];
}
