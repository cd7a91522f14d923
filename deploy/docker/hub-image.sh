#!/usr/bin/env bash
# Builds the hub's image, hostplane/hub:TAG, from this checkout's build in seconds to a minute or so:
# the base from the host's Node (node-base.sh, remade only when the host's Node changed), the
# agent bundle (made when absent or older than the agent's build), and the production tree
# (scripts/hub-image-context.mjs) as the build context of hub.Dockerfile. After `npm ci && npx tsc -b`:
#   bash deploy/docker/hub-image.sh [TAG]
# HOSTPLANE_IMAGE_BASE=hostplane/node-base:trixie builds on the Debian base (base-image.sh) instead.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tag=${1:-latest}
image=hostplane/hub:$tag
base=${HOSTPLANE_IMAGE_BASE:-hostplane/node-base:host}
log() { printf 'hub-image: %s\n' "$*" >&2; }
now() { date +%s.%N; }
# Seconds each step took, printed at the end (docs/decisions/0040 records them).
t0=$(now) timings=
lap() { local t; t=$(now); timings+="$1 $(awk -v a="$t0" -v b="$t" 'BEGIN { printf "%.1f", b - a }')s, "; t0=$t; }

if [ ! -f "$repo/apps/hub/dist/src/main.js" ] || [ ! -f "$repo/apps/agent/dist/src/main.js" ]; then
  log "build first: npx tsc -b"
  exit 1
fi

if [ "$base" = hostplane/node-base:host ]; then
  want="NODE_VERSION=$(node --version)"
  have=$(docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$base" 2>/dev/null | grep '^NODE_VERSION=' || true)
  [ "$have" = "$want" ] || bash "$repo/deploy/docker/node-base.sh" "$base" >&2
elif ! docker image inspect "$base" >/dev/null 2>&1; then
  log "no image $base: make it first (deploy/docker/base-image.sh)"
  exit 1
fi

bundle=$repo/apps/hub/agent-bundles/hostplane-agent-$(node -p '({linux:"linux",darwin:"darwin",sunos:"illumos"})[process.platform]+"-"+process.arch').tar.gz
if [ ! -f "$bundle" ] || [ -n "$(find "$repo/apps/agent/dist/src" -newer "$bundle" -print -quit)" ]; then
  node "$repo/scripts/bundle-agent.mjs" >/dev/null
fi
lap base+bundle

log=$(mktemp "${TMPDIR:-/tmp}/hostplane-hub-image.XXXXXX")
trap 'rm -f "$log"' EXIT
# The context is streamed from the checkout (scripts/hub-image-context.mjs), never staged on
# disk. The classic builder: the buildx plugin is not installed everywhere, and nothing more is
# needed; --force-rm so a failed check leaves no stopped container behind.
node "$repo/scripts/hub-image-context.mjs" |
  DOCKER_BUILDKIT=0 docker build -q --force-rm --pull=false --build-arg BASE="$base" \
    -f deploy/docker/hub.Dockerfile -t "$image" - >/dev/null 2>"$log" || {
  grep -v -e '^DEPRECATED' -e 'BuildKit is currently disabled' -e '^ *environment-variable' "$log" >&2
  exit 1
}
lap build
log "$image on $base: $(docker image inspect -f '{{.Size}}' "$image") bytes; ${timings%, }"
