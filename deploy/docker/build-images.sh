#!/usr/bin/env bash
# Builds every image deploy/compose.yaml and deploy/kubernetes use, nothing pulled from a
# registry: the hub's (hub-image.sh: the host's Node as base, seconds) and PostgreSQL, Redis and
# HAProxy from Debian's packages on the debootstrap base (base-image.sh, minutes, once).
# Run from anywhere after `npm ci && npx tsc -b`:  bash deploy/docker/build-images.sh [TAG]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tag=${1:-latest}
bash "$repo/deploy/docker/hub-image.sh" "$tag"
base=hostplane/node-base:trixie
docker image inspect "$base" >/dev/null 2>&1 || bash "$repo/deploy/docker/base-image.sh" "$base"
for target in postgres redis haproxy; do
  DOCKER_BUILDKIT=0 docker build -q --force-rm --pull=false --build-arg BASE="$base" \
    -f "$repo/deploy/docker/services.Dockerfile" --target "$target" -t "hostplane/$target:$tag" "$repo/deploy" >/dev/null
done
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' 'hostplane/*'
