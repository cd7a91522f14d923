/* global module */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS scripts run by node directly */
'use strict';
// Simulated zoneadm, zonecfg, zadm and zlogin. A booted zone is a detached guest process
// (guest.cjs) that owns the zone console (a unix socket + a console log) and runs the zone's
// site SMF services; zlogin -C attaches to that socket.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { stateDir, withState, readState, fail, runTool, getopt, esc, sleepMs } = require('./sim-state.cjs');
const { splitCommands, applyCommands, renderZadm } = require('./zone-config.cjs');
const zfs = require('./zfs.cjs');

const initZones = () => ({ zones: {}, nextId: 1 });
const runDir = () => path.join(stateDir(), 'run');
const consoleSocket = (name) => path.join(runDir(), `${name}.console`);
const pidFile = (name, what) => path.join(runDir(), `${name}.${what}.pid`);

function listLine(z) {
  return [
    z.state === 'running' ? z.id : '-',
    esc(z.name),
    z.state,
    esc(z.props.zonepath),
    z.uuid ?? '',
    z.props.brand,
    z.props['ip-type'] === 'shared' ? 'shared' : 'excl',
  ].join(':');
}

function zoneadmList(opts, only) {
  const doc = readState('zones', initZones);
  const all = Object.values(doc.zones).filter((z) => (only ? z.name === only : true));
  if (only && all.length === 0 && only !== 'global') fail(`${only}: No such zone configured`);
  const shown = all.filter((z) => opts.c || only || z.state === 'running' || (opts.i && z.state !== 'configured'));
  const global = {
    name: 'global',
    id: 0,
    state: 'running',
    props: { zonepath: '/', brand: 'ipkg', 'ip-type': 'shared' },
    uuid: '',
  };
  const zones = only && only !== 'global' ? shown : [global, ...shown];
  if (opts.p) return zones.map((z) => listLine(z) + '\n').join('');
  if (!opts.v) return zones.map((z) => z.name + '\n').join('');
  let out = '  ID NAME             STATUS     PATH                           BRAND    IP    \n';
  for (const z of zones)
    out += `${String(z.state === 'running' ? z.id : '-').padStart(4)} ${z.name.padEnd(16)} ${z.state.padEnd(10)} ${z.props.zonepath.padEnd(30)} ${z.props.brand.padEnd(8)} ${z.props['ip-type'] === 'shared' ? 'shared' : 'excl'}\n`;
  return out;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(name, what) {
  try {
    return Number(fs.readFileSync(pidFile(name, what), 'utf8'));
  } catch {
    return 0;
  }
}

function killZone(name, signal) {
  // shutdown signals the guest (its init), which stops the services; halt kills everything.
  for (const what of signal === 'SIGKILL' ? ['service', 'guest'] : ['guest']) {
    const pid = readPid(name, what);
    if (pid > 0) {
      try {
        process.kill(-pid, signal);
      } catch {
        try {
          process.kill(pid, signal);
        } catch {
          // Already gone.
        }
      }
    }
  }
}

function setState(name, from, to, extra = {}) {
  return withState('zones', initZones, (doc) => {
    const z = doc.zones[name] ?? fail(`${name}: No such zone configured`);
    if (from && !from.includes(z.state)) fail(`zone '${name}': must be ${from.join(' or ')} (it is ${z.state})`);
    Object.assign(z, { state: to }, extra(z, doc));
    return z;
  });
}

function boot(name) {
  const zone = setState(name, ['installed'], 'running', (z, doc) => ({ id: doc.nextId++, uuid: z.uuid }));
  fs.mkdirSync(runDir(), { recursive: true });
  fs.mkdirSync(path.join(stateDir(), 'var', 'log', 'zones'), { recursive: true });
  const child = spawn(
    process.execPath,
    [path.join(__dirname, 'guest.cjs'), name, zone.props.zonepath, zone.props.brand],
    { detached: true, stdio: 'ignore', env: process.env },
  );
  fs.writeFileSync(pidFile(name, 'guest'), String(child.pid));
  child.unref();
  const deadline = Date.now() + 5000;
  while (!fs.existsSync(consoleSocket(name)) && Date.now() < deadline) sleepMs(10);
}

/** Waits until the guest is gone, then marks the zone installed (what zoneadmd does when init exits). */
function waitDown(name) {
  const pid = readPid(name, 'guest');
  while (pid > 0 && alive(pid)) sleepMs(20);
  for (const what of ['guest', 'service']) fs.rmSync(pidFile(name, what), { force: true });
  fs.rmSync(consoleSocket(name), { force: true });
  setState(name, null, 'installed', () => ({ id: null }));
}

function zoneadm(argv) {
  const { opts, rest } = getopt(argv, ['z', 'R', 'u'], ['c', 'i', 'p', 'v']);
  const name = opts.z?.[0];
  const [sub, ...args] = rest;
  if (!sub) fail('usage: zoneadm [-z zone] subcommand', 253);
  if (sub === 'list') return zoneadmList({ ...opts, ...getopt(args, [], ['c', 'i', 'p', 'v']).opts }, name);
  if (!name) fail(`${sub}: zone name required`, 253);
  const current = readState('zones', initZones).zones[name] ?? fail(`${name}: No such zone configured`);
  switch (sub) {
    case 'install': {
      if (current.state !== 'configured')
        fail(`zone '${name}': install operation is invalid for ${current.state} zones.`);
      if (!current.props.zonepath) fail(`zone '${name}': zonepath is not set`);
      zfs.createZoneDataset(current.props.zonepath);
      const root = path.join(current.props.zonepath, 'root');
      for (const d of ['etc', 'opt', 'var/svc/log', 'lib/svc/manifest/site', 'root', 'tmp'])
        fs.mkdirSync(path.join(root, d), { recursive: true });
      setState(name, ['configured'], 'installed', () => ({ uuid: randomUUID() }));
      return 'A ZFS file system has been created for this zone.\nDone: Installation completed in 1.234 seconds.\n';
    }
    case 'clone': {
      const source = args.filter((a) => !a.startsWith('-')).pop();
      const src = readState('zones', initZones).zones[source] ?? fail(`${source}: No such zone configured`);
      if (src.state !== 'installed')
        fail(`zone '${source}': must be installed before being cloned (it is ${src.state})`);
      if (current.state !== 'configured')
        fail(`zone '${name}': clone operation is invalid for ${current.state} zones.`);
      zfs.createZoneDataset(current.props.zonepath);
      fs.cpSync(path.join(src.props.zonepath, 'root'), path.join(current.props.zonepath, 'root'), { recursive: true });
      setState(name, ['configured'], 'installed', () => ({ uuid: randomUUID() }));
      return 'Cloning zonepath ... done\n';
    }
    case 'boot':
      return void boot(name);
    case 'ready':
      return void setState(name, ['installed', 'ready'], 'ready');
    case 'shutdown': {
      if (current.state !== 'running')
        fail(`zone '${name}': shutdown operation is invalid for ${current.state} zones.`);
      killZone(name, 'SIGTERM');
      waitDown(name);
      if (args.includes('-r')) boot(name);
      return '';
    }
    case 'halt':
    case 'reboot': {
      if (current.state === 'installed' && sub === 'halt') return '';
      if (current.state !== 'running' && current.state !== 'ready')
        fail(`zone '${name}': ${sub} operation is invalid for ${current.state} zones.`);
      killZone(name, 'SIGKILL');
      waitDown(name);
      if (sub === 'reboot') boot(name);
      return '';
    }
    case 'uninstall': {
      if (!args.includes('-F')) fail('uninstall: use -F in a non-interactive session');
      if (current.state !== 'installed')
        fail(`zone '${name}': uninstall operation is invalid for ${current.state} zones.`);
      zfs.destroyZoneDataset(current.props.zonepath);
      fs.rmSync(current.props.zonepath, { recursive: true, force: true });
      setState(name, ['installed'], 'configured', () => ({ uuid: null }));
      return '';
    }
    case 'attach': {
      // What a zone moved from another host needs: its zonepath dataset is there, the zone only configured.
      if (current.state !== 'configured')
        fail(`zone '${name}': attach operation is invalid for ${current.state} zones.`);
      if (!fs.existsSync(path.join(current.props.zonepath, 'root')))
        fail(
          `zone '${name}': ${current.props.zonepath}/root: No such file or directory\ncould not attach zone: no zonepath`,
        );
      setState(name, ['configured'], 'installed', () => ({ uuid: randomUUID() }));
      return '';
    }
    case 'verify':
      if (!current.props.zonepath) fail(`zone '${name}': zonepath is not set`);
      return '';
    default:
      fail(`${sub}: unknown subcommand`, 253);
  }
}

function zonecfg(argv) {
  const { opts, rest } = getopt(argv, ['z', 'f'], []);
  const name = opts.z?.[0] ?? fail('usage: zonecfg -z zone [-f file | subcommand]', 253);
  const text = opts.f ? fs.readFileSync(opts.f[0], 'utf8') : rest.join(' ');
  if (!text.trim()) fail('interactive mode is not available here', 253);
  return withState('zones', initZones, (doc) => applyCommands(doc.zones, name, splitCommands(text)));
}

function zadm(argv) {
  const [sub, name] = argv;
  const doc = readState('zones', initZones);
  if (sub === 'list')
    return Object.keys(doc.zones)
      .map((n) => n + '\n')
      .join('');
  if (sub === 'show') return renderZadm(doc.zones[name] ?? fail(`zone '${name}' does not exist`));
  if (sub === 'vnc') return zadmVnc(argv.slice(1), doc);
  fail(`${sub}: unsupported here`, 2);
}

/**
 * `zadm vnc [-w] [<[bind_addr:]port>] <zone>` as zadm's VNC proxy does it (Zadm::VNC::Proxy):
 * listens on bind_addr:port (default 127.0.0.1:5900) and joins every client to the bhyve
 * framebuffer's UNIX socket, `<zonepath>/root/tmp/vm.vnc` or the path of the zone's
 * `vnc=unix=/path` attr. bhyve itself is not simulated: a test puts a real VNC server on that socket.
 */
function zadmVnc(args, doc) {
  const { opts, rest } = getopt(args, [], ['w']);
  if (opts.w) fail('web VNC (noVNC) is not simulated here', 2);
  const [listen, name] = rest.length === 1 ? ['5900', rest[0]] : rest;
  const zone = doc.zones[name] ?? fail(`zone '${name}' does not exist`);
  if (zone.props.brand !== 'bhyve') fail(`vnc: not supported for brand '${zone.props.brand}'`, 2);
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d+)$/.exec(listen ?? '');
  if (!m) fail(`ERROR: '${listen}' is not valid`);
  const [ip, port] = [m[1] ?? '127.0.0.1', Number(m[2])];
  if (zone.state !== 'running') process.stderr.write(`WARNING: zone ${name} is not running\n`);
  const vnc = (zone.resources.attr ?? []).find((a) => a.name === 'vnc')?.value ?? 'off';
  if (vnc === 'off') process.stderr.write(`WARNING: VNC is not enabled for zone ${name}\n`);
  const unixPath = /^unix[:=]\/([^, ]+)/.exec(vnc)?.[1] ?? 'tmp/vm.vnc';
  const socketPath = path.join(zone.props.zonepath, 'root', unixPath);
  const server = net.createServer((client) => {
    const fb = net.connect(socketPath);
    fb.on('error', () => client.destroy());
    client.on('error', () => fb.destroy());
    client.pipe(fb).pipe(client);
  });
  server.on('error', (err) => {
    process.stderr.write(`zadm: cannot listen on ${ip}:${port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, ip, () => process.stdout.write(`VNC proxy available at ${ip}:${port}\n`));
  process.on('SIGTERM', () => process.exit(0));
  return undefined;
}

/**
 * zlogin -C attaches to the console; `zlogin Z cmd…` runs cmd in the zone root (no chroot here:
 * relative paths only).
 */
function zlogin(argv) {
  const { opts, rest } = getopt(argv, ['e', 'l'], ['C', 'E', 'Q', 'S']);
  const [name, ...cmd] = rest;
  const zone = readState('zones', initZones).zones[name] ?? fail(`${name}: No such zone configured`);
  if (zone.state !== 'running') fail(`zone '${name}' is not running (it is ${zone.state})`);
  if (opts.C) return attachConsole(name);
  const shell = cmd.length === 0 ? ['/bin/sh', ['-i']] : ['/bin/sh', ['-c', cmd.join(' ')]];
  const r = spawnSync(shell[0], shell[1], {
    cwd: path.join(zone.props.zonepath, 'root'),
    stdio: 'inherit',
    env: { ...process.env, HOME: '/root' },
  });
  process.exitCode = r.status ?? 1;
}

function attachConsole(name) {
  process.stdout.write(`[Connected to zone '${name}' console]\n`);
  const sock = net.connect(consoleSocket(name));
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  let atLineStart = true;
  let tilde = false;
  process.stdin.on('data', (chunk) => {
    for (const byte of chunk) {
      if (tilde && byte === 0x2e) {
        process.stdout.write(`\n[Connection to zone '${name}' console closed]\n`);
        process.exit(0);
      }
      tilde = atLineStart && byte === 0x7e;
      atLineStart = byte === 0x0d || byte === 0x0a;
    }
    sock.write(chunk);
  });
  sock.on('data', (d) => process.stdout.write(d));
  sock.on('error', () => undefined);
  sock.on('close', () => {
    process.stdout.write(`\n[Connection to zone '${name}' console closed]\n`);
    process.exit(0);
  });
  return undefined;
}

const MAINS = { zoneadm, zonecfg, zadm, zlogin };
module.exports = { main: (tool) => runTool(tool, MAINS[tool]) };
