-- Up Migration
-- When each event reached the route log: the archive's lag is archived_at - at.
ALTER TABLE route_order_events ADD COLUMN archived_at timestamptz NOT NULL DEFAULT now();

-- Down Migration
ALTER TABLE route_order_events DROP COLUMN archived_at;
