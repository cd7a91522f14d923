#!/usr/bin/env bash
# `npm start`: installs what is missing, brings up PostgreSQL and Redis (local ones if installed,
# Debian's packages if not), builds, migrates and runs the hub in development mode on :8080 with
# one agent on this machine registered to it.
# Any HOSTPLANE_* variable you set is respected (see README's configuration table).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

if [ -z "${HOSTPLANE_DATABASE_URL:-}" ]; then
  ensure_postgres
  db=hostplane
  if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" 2>/dev/null | grep -q 1; then
    log "creating database $db"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
  fi
  export HOSTPLANE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
fi
[ -n "${HOSTPLANE_REDIS_URL:-}" ] || ensure_redis
# The local agent confines process workloads with bubblewrap; without it only platform admins may run them.
ensure_bubblewrap || log "bubblewrap is not available: tenants' process workloads will be refused (docs/security.md)"

[ -d node_modules ] || npm ci --no-audit --no-fund
npx tsc -b

export HOSTPLANE_ENV="${HOSTPLANE_ENV:-development}"
export HOSTPLANE_HOST="${HOSTPLANE_HOST:-127.0.0.1}"
export HOSTPLANE_PUBLIC_URL="${HOSTPLANE_PUBLIC_URL:-http://localhost:${HOSTPLANE_PORT:-8080}}"
log "starting the hub on ${HOSTPLANE_PUBLIC_URL} and a local agent"
exec node scripts/dev-stack.mjs "$@"
