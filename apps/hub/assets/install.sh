#!/bin/sh
# Hostplane agent installer, served by the hub at /install.sh:
#
#   curl -fsSL https://hub.example.com/install.sh | sudo sh -s -- --hub https://hub.example.com --token hp_reg_…
#
# Downloads this host's agent bundle from the hub, verifies its SHA-256, installs it under the
# prefix, registers the node with the token, writes the config and installs the systemd unit,
# SMF manifest or launchd plist. Running it again upgrades in place and keeps the config and the
# node's identity. Needs sh, curl or wget, tar, gzip, a SHA-256 tool and Node.js 20.11 or newer.
set -eu

PREFIX=/opt/hostplane-agent
ROOT=
CONFIG=/etc/hostplane/agent.yaml
STATE_DIR=/var/lib/hostplane-agent
SERVICE_USER=root
HUB=
TOKEN=${HOSTPLANE_AGENT_REGISTRATION_TOKEN:-}
ENABLE=auto
NODE=${HOSTPLANE_NODE:-}
WORK=

usage() {
  cat <<'EOF'
usage: install.sh --hub URL [--token hp_reg_…] [options]

  --hub URL          the hub to download from and register with (required)
  --token TOKEN      registration token (hp_reg_…); not needed when this host is already registered
                     (also read from $HOSTPLANE_AGENT_REGISTRATION_TOKEN)
  --prefix DIR       where the agent is installed (default /opt/hostplane-agent)
  --config FILE      agent config file (default /etc/hostplane/agent.yaml; kept when it exists)
  --state-dir DIR    credentials and job journal (default /var/lib/hostplane-agent)
  --user NAME        account the service runs as (default root)
  --node PATH        the Node.js (20.11+) to run the agent with (default: node on PATH)
  --root DIR         install below DIR instead of / (packaging, tests); implies --no-enable
  --no-enable        write the service file but leave the service manager alone
  -h, --help         this text
EOF
}

say() { printf 'hostplane-agent install: %s\n' "$*"; }
die() {
  printf 'hostplane-agent install: error: %s\n' "$*" >&2
  exit 1
}
cleanup() { if [ -n "$WORK" ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

need_value() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi; }

while [ $# -gt 0 ]; do
  case $1 in
    --hub) need_value "$@"; HUB=$2; shift 2 ;;
    --token) need_value "$@"; TOKEN=$2; shift 2 ;;
    --prefix) need_value "$@"; PREFIX=$2; shift 2 ;;
    --config) need_value "$@"; CONFIG=$2; shift 2 ;;
    --state-dir) need_value "$@"; STATE_DIR=$2; shift 2 ;;
    --user) need_value "$@"; SERVICE_USER=$2; shift 2 ;;
    --node) need_value "$@"; NODE=$2; shift 2 ;;
    --root) need_value "$@"; ROOT=$2; shift 2 ;;
    --no-enable) ENABLE=no; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option \"$1\"" ;;
  esac
done

[ -n "$HUB" ] || die '--hub URL is required (the address of your Hostplane hub)'
case $HUB in
  http://?* | https://?*) ;;
  *) die "--hub must start with http:// or https:// (got \"$HUB\")" ;;
esac
HUB=${HUB%/}
for path in "$PREFIX" "$CONFIG" "$STATE_DIR"; do
  case $path in
    /*) ;;
    *) die "paths must be absolute (got \"$path\")" ;;
  esac
done
case $TOKEN in
  '' | hp_reg_*) ;;
  *) die '--token must be a registration token starting with hp_reg_ (hpctl nodes add, or POST /v1/nodes/register-token)' ;;
esac
case $SERVICE_USER in
  *[!A-Za-z0-9._-]* | '') die "--user must be an account name (got \"$SERVICE_USER\")" ;;
esac
if [ -n "$ROOT" ]; then
  case $ROOT in
    /*) ;;
    *) die "--root must be an absolute path (got \"$ROOT\")" ;;
  esac
  ROOT=${ROOT%/}
  ENABLE=no
elif [ "$(id -u)" -ne 0 ]; then
  die 'run as root: curl -fsSL <hub>/install.sh | sudo sh -s -- --hub <hub> --token <token>'
fi

# --- what this host is ---------------------------------------------------------------------
case $(uname -s) in
  Linux) OS=linux ;;
  Darwin) OS=darwin ;;
  SunOS) OS=illumos ;;
  *) die "no agent for $(uname -s): Hostplane agents run on Linux, illumos and macOS" ;;
esac
case $(uname -m) in
  x86_64 | amd64 | i86pc) ARCH=x64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) die "no agent for the $(uname -m) architecture: x86_64 and arm64 are built" ;;
esac
# illumos reports i86pc for the machine whatever the ISA; only 64-bit x86 is built.
if [ "$OS" = illumos ] && [ "$(isainfo -k 2>/dev/null || echo amd64)" != amd64 ]; then
  die 'no agent for 32-bit illumos'
fi
PLATFORM=$OS-$ARCH

# --- tools ---------------------------------------------------------------------------------
if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --retry 3 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$1"; }
else
  die 'curl or wget is needed to download the agent'
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256_of() { shasum -a 256 "$1" | cut -d' ' -f1; }
elif command -v digest >/dev/null 2>&1; then
  sha256_of() { digest -a sha256 "$1"; }
else
  die 'a SHA-256 tool is needed: sha256sum, shasum or digest'
fi
command -v tar >/dev/null 2>&1 || die 'tar is needed to unpack the agent'
command -v gzip >/dev/null 2>&1 || die 'gzip is needed to unpack the agent'

# The bundle carries the agent and its dependencies, not Node itself: the host's package manager
# keeps Node patched (decision 0036).
if [ -z "$NODE" ]; then NODE=$(command -v node 2>/dev/null || true); fi
if [ -z "$NODE" ] || [ ! -x "$NODE" ]; then
  case $OS in
    linux) hint='e.g. apt-get install nodejs (Debian 13+), dnf install nodejs, or NodeSource packages' ;;
    illumos) hint='e.g. pkg install ooce/runtime/node-22' ;;
    darwin) hint='e.g. brew install node@22' ;;
  esac
  die "Node.js 20.11 or newer is needed and was not found on PATH ($hint); install it, or pass --node PATH, and run this again. Nothing was changed."
fi
case $NODE in
  /*) ;;
  *) NODE=$(cd "$(dirname "$NODE")" && pwd)/$(basename "$NODE") ;;
esac
# shellcheck disable=SC2016 # the $ belongs to the JavaScript
node_ok=$("$NODE" -e 'const [a,b]=process.versions.node.split(".").map(Number);console.log(a>20||(a===20&&b>=11)?"yes":"no "+process.version)' 2>/dev/null || echo 'no unknown')
[ "$node_ok" = yes ] || die "Node.js 20.11 or newer is needed; $NODE is ${node_ok#no }. Nothing was changed."

# --- download and verify -------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hostplane-agent.XXXXXX")
BUNDLE_URL=$HUB/v1/agent/bundle/$PLATFORM
say "downloading the $PLATFORM agent from $HUB"
fetch "$BUNDLE_URL.sha256" "$WORK/bundle.sha256" ||
  die "cannot download $BUNDLE_URL.sha256 (does this hub have a $PLATFORM bundle? see its answer: curl -s $BUNDLE_URL.sha256)"
fetch "$BUNDLE_URL" "$WORK/bundle.tar.gz" || die "cannot download $BUNDLE_URL"
expected=$(cut -d' ' -f1 <"$WORK/bundle.sha256")
case $expected in
  *[!0-9a-f]* | '') die "the hub's checksum for $PLATFORM is not a SHA-256: \"$expected\"" ;;
esac
[ ${#expected} -eq 64 ] || die "the hub's checksum for $PLATFORM is not a SHA-256: \"$expected\""
actual=$(sha256_of "$WORK/bundle.tar.gz")
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $BUNDLE_URL: expected sha256 $expected, got $actual. The download was altered or cut short; nothing was installed."
fi
say "sha256 $actual verified"

# --- unpack next to the running version, then switch ---------------------------------------
DEST=$ROOT$PREFIX
VERSION_ID=$(printf '%s' "$actual" | cut -c1-16)
# The topmost directory this run creates: a failure below removes it, and so leaves no trace.
CREATED=
dir=$DEST
while [ ! -e "$dir" ]; do
  CREATED=$dir
  dir=$(dirname "$dir")
done
mkdir -p "$DEST/versions" "$DEST/bin"
NEW=$DEST/versions/$VERSION_ID
FRESH=no
if [ ! -f "$NEW/BUNDLE.json" ]; then
  rm -rf "$NEW.partial"
  mkdir "$NEW.partial"
  gzip -dc "$WORK/bundle.tar.gz" | (cd "$NEW.partial" && tar -xf -) || {
    rm -rf "$NEW.partial"
    if [ -n "$CREATED" ]; then rm -rf "$CREATED"; fi
    die 'unpacking the bundle failed'
  }
  rm -rf "$NEW"
  mv "$NEW.partial" "$NEW"
  FRESH=yes
fi
# A failure from here on removes what this run unpacked (and the directories it created).
undo_unpack() {
  if [ "$FRESH" = yes ]; then rm -rf "$NEW"; fi
  if [ -n "$CREATED" ]; then rm -rf "$CREATED"; fi
}
MAIN=$NEW/apps/agent/dist/src/main.js
agent() { HOSTPLANE_AGENT_STATE_DIR=$ROOT$STATE_DIR "$NODE" "$MAIN" "$@"; }
AGENT_VERSION=$(agent --version 2>/dev/null) || {
  undo_unpack
  die "the $PLATFORM agent does not start with $NODE ($("$NODE" --version)); is the bundle built for another Node?"
}

# --- register (once: a re-run keeps the node's identity) -----------------------------------
if [ -f "$ROOT$STATE_DIR/credentials.json" ]; then
  say "already registered ($ROOT$STATE_DIR/credentials.json kept)"
else
  if [ -z "$TOKEN" ]; then
    undo_unpack
    die '--token hp_reg_… is needed to register this host (create one: hpctl nodes add, or POST /v1/nodes/register-token)'
  fi
  # The token goes through the environment, not argv, so other users' ps does not show it.
  if ! HOSTPLANE_AGENT_REGISTRATION_TOKEN=$TOKEN agent register --hub "$HUB" --config /dev/null; then
    undo_unpack
    die 'registration failed (the reason is above); nothing else was changed'
  fi
fi

# --- config (kept when present) ------------------------------------------------------------
if [ -f "$ROOT$CONFIG" ]; then
  say "config $ROOT$CONFIG kept"
else
  mkdir -p "$(dirname "$ROOT$CONFIG")"
  (
    umask 077
    cat >"$ROOT$CONFIG.tmp" <<EOF
# Hostplane agent settings (docs/agent.md, "Configuration"), written by install.sh.
# Re-running install.sh keeps this file; the node's identity is in state_dir/credentials.json.
hub_url: $HUB
state_dir: $STATE_DIR
EOF
  )
  mv "$ROOT$CONFIG.tmp" "$ROOT$CONFIG"
  say "wrote $ROOT$CONFIG"
fi
chmod 600 "$ROOT$CONFIG"

# --- switch to the new version ------------------------------------------------------------
# The launcher names the version and the Node it was set up with; replacing it (a rename) is
# the switch. It finds the prefix from where it is, so the tree works below --root too.
cat >"$DEST/bin/hostplane-agent.new" <<EOF
#!/bin/sh
exec "$NODE" "\$(dirname "\$0")/../versions/$VERSION_ID/apps/agent/dist/src/main.js" "\$@"
EOF
chmod 755 "$DEST/bin/hostplane-agent.new"
mv -f "$DEST/bin/hostplane-agent.new" "$DEST/bin/hostplane-agent"
say "agent $AGENT_VERSION installed in $DEST"

# --- service -------------------------------------------------------------------------------
case $OS in
  linux) running=$([ -d /run/systemd/system ] && echo yes || echo no) ;;
  illumos) running=$(svcs -H svc:/system/svc/restarter:default >/dev/null 2>&1 && echo yes || echo no) ;;
  darwin) running=yes ;;
esac
if [ "$ENABLE" = auto ] && [ "$running" = no ]; then
  say "the service manager is not running here: writing the service file only"
  ENABLE=no
fi
set -- --exec "$PREFIX/bin/hostplane-agent" --config "$CONFIG" --user "$SERVICE_USER"
if [ -n "$ROOT" ]; then set -- "$@" --root "$ROOT"; fi
if [ "$ENABLE" = no ]; then
  agent service install "$@" --no-enable
else
  was_running=no
  case $OS in
    linux) if systemctl is-active --quiet hostplane-agent.service; then was_running=yes; fi ;;
    illumos) if [ "$(svcs -H -o state svc:/site/hostplane-agent:default 2>/dev/null)" = online ]; then was_running=yes; fi ;;
    darwin) launchctl bootout system/com.hostplane.agent >/dev/null 2>&1 || true ;;
  esac
  agent service install "$@"
  # An upgrade restarts the agent that still runs the previous version.
  if [ "$was_running" = yes ]; then
    case $OS in
      linux) systemctl restart hostplane-agent.service ;;
      illumos) svcadm restart svc:/site/hostplane-agent:default ;;
    esac
  fi
fi
# Earlier versions go only now, after the agent that ran one was restarted.
for old in "$DEST"/versions/*; do
  [ "$old" = "$NEW" ] || rm -rf "$old"
done
say "done: $PREFIX/bin/hostplane-agent status --config $CONFIG"
