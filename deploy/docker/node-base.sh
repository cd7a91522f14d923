#!/usr/bin/env bash
# Makes the hub's base image in seconds from this host's own Node, never pulling one: a root
# filesystem holding /usr/bin/node, tini, exactly the shared libraries `ldd` lists for them (and
# for any extra ELF files given, e.g. native addons), /etc/passwd with the hub's user (uid 10001),
# CA certificates and a writable /tmp, `docker import`ed as hostplane/node-base:host.
#   bash deploy/docker/node-base.sh [IMAGE] [EXTRA_ELF...]
# No shell, no package manager: the libraries are the host's, so native addons built here load in
# the image (same glibc). For a Debian userland use base-image.sh (debootstrap) instead.
set -euo pipefail
image=${1:-hostplane/node-base:host}
shift || true
fail() { echo "node-base: $*" >&2; exit 1; }
node=$(command -v node) || fail "node is not on PATH"
node=$(readlink -f "$node")
# tini as PID 1 forwards SIGTERM to node and reaps orphans; the static build needs no libraries.
tini=$(command -v tini-static || command -v docker-init || command -v tini) ||
  fail "install tini (apt-get install tini; docker.io depends on it)"
tini=$(readlink -f "$tini")
ca=/etc/ssl/certs/ca-certificates.crt
[ -r "$ca" ] || fail "no CA bundle at $ca (apt-get install ca-certificates)"

root=$(mktemp -d "${TMPDIR:-/tmp}/hostplane-node-base.XXXXXX")
trap 'rm -rf "$root" "$root.tar"' EXIT
mkdir -p "$root/usr/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/var/lib/hostplane"
chmod 1777 "$root/tmp"
install -m 0755 "$node" "$root/usr/bin/node"
install -m 0755 "$tini" "$root/usr/bin/tini"
install -m 0644 "$ca" "$root/etc/ssl/certs/ca-certificates.crt"

# Every library at the path the dynamic loader looks it up by (ldd's right-hand side, and the
# loader itself by its absolute path), holding the file that path resolves to here.
libs=$(for elf in "$node" "$tini" "$@"; do
  out=$(ldd "$elf" 2>&1) || { grep -q 'not a dynamic executable' <<<"$out" && continue; fail "ldd $elf: $out"; }
  if grep -q 'not found' <<<"$out"; then fail "$elf: $(grep 'not found' <<<"$out")"; fi
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out"
done | sort -u)
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  install -m 0755 "$(readlink -f "$lib")" "$root$lib"
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
hostplane:x:10001:10001:Hostplane hub:/var/lib/hostplane:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
hostplane:x:10001:
nogroup:x:65534:
EOF
# glibc 2.34+ has the files and dns lookups built in; this only fixes their order.
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"

# Owned by root except the hub's data directory (a new volume takes its owner); same bytes from
# the same inputs, so a rebuilt base is the same layer.
common=(--sort=name --mtime=@0 --numeric-owner --format=gnu)
tar -C "$root" "${common[@]}" --owner=0 --group=0 --exclude=./var/lib/hostplane -cf "$root.tar" .
tar -C "$root" "${common[@]}" --owner=10001 --group=10001 --no-recursion -rf "$root.tar" ./var/lib/hostplane
glibc=$(ldd --version | awk 'NR == 1 { print $NF }')
docker import \
  -c 'ENV PATH=/usr/bin' \
  -c "ENV NODE_VERSION=$(node --version) HOSTPLANE_BASE_GLIBC=$glibc" \
  -c 'CMD ["node"]' \
  "$root.tar" "$image" >/dev/null
echo "node-base: $image (node $(node --version), glibc $glibc, $(wc -w <<<"$libs") libraries)"
