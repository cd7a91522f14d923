#!/usr/bin/env bash
# Brings up the local services Hostplane needs, using what is installed and Debian's packages
# when something is missing. Sourced by start.sh, test.sh and .ci/run; safe to run repeatedly.
set -euo pipefail

log() { printf '[services] %s\n' "$*" >&2; }

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  if [ -z "${HOSTPLANE_APT_UPDATED:-}" ]; then
    log "apt-get update"
    $SUDO apt-get update -qq
    export HOSTPLANE_APT_UPDATED=1
  fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

wait_for() { # wait_for <seconds> <command...>
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.3
  done
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null; }

ensure_postgres() {
  pg_up && return 0
  command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$version" ] || { log "no PostgreSQL cluster found after install"; return 1; }
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for 30 pg_up || { log "PostgreSQL did not come up on 127.0.0.1:5432"; return 1; }
}

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

ensure_redis() {
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  redis_up && return 0
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for 15 redis_up || { log "Redis did not come up on 127.0.0.1:6379"; return 1; }
}

docker_up() { docker info >/dev/null 2>&1; }

# The docker driver's tests run against a real dockerd and a locally imported busybox image:
# no registry is reachable here, so nothing is ever pulled.
ensure_docker() {
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  command -v busybox >/dev/null 2>&1 || [ -x /bin/busybox ] || apt_install busybox-static
  # The hub image's PID 1 (deploy/docker/node-base.sh); docker.io depends on it already.
  command -v tini-static >/dev/null 2>&1 || command -v docker-init >/dev/null 2>&1 || apt_install tini
  if ! docker_up; then
    log "starting dockerd"
    (dockerd >/var/log/dockerd.log 2>&1 &)
    wait_for 60 docker_up || { log "dockerd did not answer within 60 s (see /var/log/dockerd.log)"; return 1; }
  fi
  docker image inspect hostplane/busybox:test >/dev/null 2>&1 && return 0
  log "importing hostplane/busybox:test"
  local root bb
  root=$(mktemp -d)
  bb=$(command -v busybox || echo /bin/busybox)
  mkdir -p "$root/bin" "$root/tmp" "$root/home/container" "$root/mnt/server"
  cp "$bb" "$root/bin/busybox"
  # sh echo sleep cat ls as in SERVICES.md, plus what the driver tests use (nc for the port test, env, kill).
  for c in sh echo sleep cat ls printf true false kill env mkdir rm grep nc wc; do ln -s busybox "$root/bin/$c"; done
  tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' - hostplane/busybox:test >/dev/null
  rm -rf "$root"
}

# Image pulls are tested against a registry on loopback (never the internet): Debian's
# docker-registry (the CNCF distribution server) with htpasswd auth from apache2-utils. Each test
# starts its own registry on a free port with its own storage; nothing runs as a service here.
ensure_docker_registry() {
  command -v docker-registry >/dev/null 2>&1 || apt_install docker-registry
  command -v htpasswd >/dev/null 2>&1 || apt_install apache2-utils
}

# Process workloads run confined by bubblewrap (namespaces) and setpriv (util-linux: own uid, no
# capabilities); the agent refuses tenants' process workloads on a node without them.
ensure_bubblewrap() {
  command -v bwrap >/dev/null 2>&1 || apt_install bubblewrap
  command -v setpriv >/dev/null 2>&1 || apt_install util-linux
}

# The zone VNC relay is tested against a real VNC server: TigerVNC's Xvnc (an X server and RFB
# server in one process) listening on a UNIX socket, as bhyve's framebuffer does.
ensure_vnc() {
  command -v Xvnc >/dev/null 2>&1 || apt_install tigervnc-standalone-server
}

# The agent installer's tests: shellcheck on install.sh, xmllint for the SMF manifest against its
# DTD, systemd-analyze for the unit; docker-compose for deploy/compose.yaml.
ensure_install_tools() {
  command -v shellcheck >/dev/null 2>&1 || apt_install shellcheck
  command -v xmllint >/dev/null 2>&1 || apt_install libxml2-utils
  command -v systemd-analyze >/dev/null 2>&1 || apt_install systemd
  # deploy/compose.yaml is checked with `docker-compose config`.
  command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  for s in "${@:-postgres redis}"; do for one in $s; do "ensure_$one"; done; done
fi
