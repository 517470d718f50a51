#!/usr/bin/env bash
# Runs a k6 scenario against the running stack (npm run stack):
#   npm run load:lunch -- [-e PROFILE=ci] [-e SPIKE_X=10] [-e DURATION=2m] [-e COURIERS=2000]
# The tokens are signed with the stack's JWT_SECRET (from the environment, else .mesh/dev.env).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCENARIO="$1"
shift
K6="$ROOT/.tools/bin/k6"
[ -x "$K6" ] || { echo "[load] error: k6 is not built; run npm run load:install" >&2; exit 1; }
if [ -z "${JWT_SECRET:-}" ] && [ -f "$ROOT/.mesh/dev.env" ]; then
  JWT_SECRET="$(sed -n 's/^JWT_SECRET=//p' "$ROOT/.mesh/dev.env")"
fi
[ -n "${JWT_SECRET:-}" ] || { echo "[load] error: no JWT_SECRET (start the stack with npm run stack first)" >&2; exit 1; }
export JWT_SECRET K6_AUTO_EXTENSION_RESOLUTION=false
exec "$K6" run -e "BASE_URL=${BASE_URL:-http://127.0.0.1:3000}" "$@" "$ROOT/load-tests/k6/$SCENARIO.js"
