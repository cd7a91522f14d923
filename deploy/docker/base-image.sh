#!/usr/bin/env bash
# Makes a base image locally from Debian's packages, never pulling one: debootstrap a minimal
# Debian 13 (trixie, whose nodejs is 20.19) with Node.js, CA certificates and tini, plus the hub's
# user (uid 10001), then `docker import` it as hostplane/node-base:trixie (or $1). The PostgreSQL,
# Redis and HAProxy images of deploy/compose.yaml build on it (services.Dockerfile, apt inside);
# the hub's image uses it with HOSTPLANE_IMAGE_BASE=hostplane/node-base:trixie when a Debian
# userland is wanted (by default it uses node-base.sh's base, made in seconds).
#   sudo bash deploy/docker/base-image.sh [IMAGE]
set -euo pipefail
image=${1:-hostplane/node-base:trixie}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null 2>&1 || { echo "base-image: install debootstrap (apt-get install debootstrap)" >&2; exit 1; }
root=$(mktemp -d /var/tmp/hostplane-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=nodejs,ca-certificates,tini trixie "$root" "$mirror" >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2
  exit 1
}
rm -f "$root.log"
# Package caches and lists are not needed at run time; the image stays smaller without them.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
# The hub's user, as node-base.sh makes it, and its data directory (a new volume takes its owner).
echo 'hostplane:x:10001:10001:Hostplane hub:/var/lib/hostplane:/usr/sbin/nologin' >>"$root/etc/passwd"
echo 'hostplane:x:10001:' >>"$root/etc/group"
echo 'hostplane:!:20000::::::' >>"$root/etc/shadow"
install -d -o 10001 -g 10001 -m 0750 "$root/var/lib/hostplane"
tar -C "$root" --numeric-owner -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' \
  -c 'CMD ["/bin/bash"]' \
  - "$image" >/dev/null
echo "base-image: $image ($(docker run --rm "$image" node --version))"
