#!/usr/bin/env bash
# Makes the hub's base image locally from Debian's packages, never pulling one: debootstrap a
# minimal Debian 13 (trixie, whose nodejs is 20.19) with Node.js and CA certificates, then
# `docker import` it as hostplane/node-base:trixie (or $1).
#   sudo bash deploy/docker/base-image.sh [IMAGE]
set -euo pipefail
image=${1:-hostplane/node-base:trixie}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null 2>&1 || { echo "base-image: install debootstrap (apt-get install debootstrap)" >&2; exit 1; }
root=$(mktemp -d /var/tmp/hostplane-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=nodejs,ca-certificates trixie "$root" "$mirror" >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2
  exit 1
}
rm -f "$root.log"
# Package caches and lists are not needed at run time; the image stays smaller without them.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' \
  -c 'CMD ["/bin/bash"]' \
  - "$image" >/dev/null
echo "base-image: $image ($(docker run --rm "$image" node --version))"
