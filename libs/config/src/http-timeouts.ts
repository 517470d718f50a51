/**
 * How long a gateway keeps an idle HTTP connection, longer than clients and load balancers
 * usually do (60 s), so none reuses a connection the gateway is closing at that moment. Node
 * announces it in `Keep-Alive: timeout=65`, which a load balancer passes on to the apps: the
 * balancer must then keep the apps' idle connections longer still.
 */
export const GATEWAY_IDLE_KEEP_ALIVE_MS = 65_000;
