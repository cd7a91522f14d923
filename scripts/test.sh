#!/usr/bin/env bash
# The whole test suite against real PostgreSQL and Redis: `npm test` (extra args filter files).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_postgres
ensure_redis
ensure_docker
ensure_docker_registry
ensure_bubblewrap
ensure_vnc
ensure_install_tools
[ -d node_modules ] || npm ci --no-audit --no-fund
npx tsc -b
exec node scripts/run-tests.mjs "$@"
