#!/usr/bin/env bash
# Builds every image deploy/compose.yaml and deploy/kubernetes use, from a base made locally
# (base-image.sh, debootstrap of Debian's packages): nothing is pulled from a registry.
# Run from anywhere after `npm ci`:  bash deploy/docker/build-images.sh [TAG]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tag=${1:-latest}
base=hostplane/node-base:trixie
docker image inspect "$base" >/dev/null 2>&1 || bash "$repo/deploy/docker/base-image.sh" "$base"
docker build -q --pull=false --build-arg BASE="$base" -f "$repo/deploy/docker/hub.Dockerfile" -t "hostplane/hub:$tag" "$repo"
for target in postgres redis haproxy; do
  docker build -q --pull=false --build-arg BASE="$base" -f "$repo/deploy/docker/services.Dockerfile" \
    --target "$target" -t "hostplane/$target:$tag" "$repo/deploy"
done
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' 'hostplane/*'
