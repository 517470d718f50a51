-- Up Migration
-- A delivered order's route is computed from its trail (route_positions by order), not leg by leg as positions come.
ALTER TABLE route_orders DROP COLUMN last_lat, DROP COLUMN last_lng, DROP COLUMN last_fix_at;
CREATE INDEX route_positions_order ON route_positions (order_id, at);

-- Down Migration
DROP INDEX route_positions_order;
ALTER TABLE route_orders ADD COLUMN last_lat double precision, ADD COLUMN last_lng double precision,
  ADD COLUMN last_fix_at timestamptz;
