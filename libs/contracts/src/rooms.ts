// No imports: the browser dashboard and @mesh/client take the room names from here without the schemas.

/** Rooms a socket joins on connect (API.md). */
export const rooms = {
  user: (sub: string) => `user:${sub}`,
  courier: (sub: string) => `courier:${sub}`,
  merchant: (sub: string) => `merchant:${sub}`,
  host: (sub: string) => `host:${sub}`,
  order: (id: string) => `order:${id}`,
  stream: (id: string) => `stream:${id}`,
  dispatchers: 'dispatchers',
  /** Every courier on any gateway (for `courier.resync`). */
  couriers: 'couriers',
} as const;
