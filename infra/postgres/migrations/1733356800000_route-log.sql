-- Up Migration

-- The route log: every order event as it was published (its CloudEvents id makes a replay harmless).
CREATE TABLE route_order_events (
  event_id    text PRIMARY KEY,
  order_id    text NOT NULL,
  type        text NOT NULL,
  at          timestamptz NOT NULL,
  status      text NOT NULL,
  courier_id  text,
  data        jsonb NOT NULL
);
CREATE INDEX route_order_events_order ON route_order_events (order_id, at);
CREATE INDEX route_order_events_at ON route_order_events (at);

-- One row per order: when it reached each stage (the first time), where it was picked up
-- (its H3 cell, resolution 7), and the length of its courier's trail from assignment to delivery.
CREATE TABLE route_orders (
  order_id       text PRIMARY KEY,
  placed_at      timestamptz NOT NULL,
  hour           timestamptz NOT NULL,
  cell           text NOT NULL,
  courier_id     text,
  assigned_at    timestamptz,
  picked_up_at   timestamptz,
  delivered_at   timestamptz,
  cancelled_at   timestamptz,
  unassigned_at  timestamptz,
  route_m        double precision NOT NULL DEFAULT 0,
  last_lat       double precision,
  last_lng       double precision,
  last_fix_at    timestamptz
);
CREATE INDEX route_orders_courier ON route_orders (courier_id, assigned_at) WHERE courier_id IS NOT NULL;
CREATE INDEX route_orders_placed ON route_orders (placed_at);

-- Positions of couriers while they are on an order.
CREATE TABLE route_positions (
  courier_id  text NOT NULL,
  at          timestamptz NOT NULL,
  lat         double precision NOT NULL,
  lng         double precision NOT NULL,
  order_id    text NOT NULL,
  PRIMARY KEY (courier_id, at)
);
CREATE INDEX route_positions_at ON route_positions (at);

-- The reports' rollups, kept when the raw log above is trimmed: counts per hour (UTC) and pickup cell
-- of the orders placed then and there, and their latencies as log-scale histograms
-- (metric 0: placed → assigned, 1: placed → picked up, 2: placed → delivered).
CREATE TABLE dispatch_stats (
  hour        timestamptz NOT NULL,
  cell        text NOT NULL,
  placed      integer NOT NULL DEFAULT 0,
  delivered   integer NOT NULL DEFAULT 0,
  cancelled   integer NOT NULL DEFAULT 0,
  unassigned  integer NOT NULL DEFAULT 0,
  route_m     double precision NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, cell)
);
CREATE TABLE dispatch_latency (
  hour    timestamptz NOT NULL,
  cell    text NOT NULL,
  metric  smallint NOT NULL,
  bucket  smallint NOT NULL,
  n       integer NOT NULL,
  PRIMARY KEY (hour, cell, metric, bucket)
);

-- Down Migration
DROP TABLE dispatch_latency;
DROP TABLE dispatch_stats;
DROP TABLE route_positions;
DROP TABLE route_orders;
DROP TABLE route_order_events;
