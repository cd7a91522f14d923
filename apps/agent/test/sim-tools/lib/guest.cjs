/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS script run by node directly */
'use strict';
// A booted zone, simulated: the zone console (a unix socket that zlogin -C attaches to, and the
// console log zoneadmd keeps in /var/log/zones/<zone>.console) and the zone's init, which starts
// the site SMF services found in <root>/lib/svc/manifest/site/*.xml on a terminal that is the
// console. A bhyve zone's console is its guest's serial port: a login prompt here.
// SIGTERM (zoneadm shutdown) stops the services with SIGTERM and exits once they are gone;
// SIGKILL of the process groups (zoneadm halt) is immediate.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const pty = require('node-pty');
const { stateDir, withState } = require('./sim-state.cjs');

const [name, zonepath, brand] = process.argv.slice(2);
const root = path.join(zonepath, 'root');
const runDir = path.join(stateDir(), 'run');
const socketPath = path.join(runDir, `${name}.console`);
const logPath = path.join(stateDir(), 'var', 'log', 'zones', `${name}.console`);
const clients = new Set();
let service = null;
let stopping = false;

function toConsole(data) {
  fs.appendFileSync(logPath, data);
  for (const c of clients) c.write(data);
}

/** The start method of each site manifest, with its absolute path resolved inside the zone root. */
function siteStartMethods() {
  const dir = path.join(root, 'lib', 'svc', 'manifest', 'site');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.xml'))
    .sort()
    .flatMap((f) => {
      const xml = fs.readFileSync(path.join(dir, f), 'utf8');
      const m =
        /<exec_method[^>]*name=['"]start['"][^>]*exec=['"]([^'"]+)['"]/.exec(xml) ??
        /<exec_method[^>]*exec=['"]([^'"]+)['"][^>]*name=['"]start['"]/.exec(xml);
      // Absolute paths that exist in the zone root resolve there (the zone's view); others are the host's.
      return m
        ? [
            m[1]
              .split(/\s+/)
              .map((w) => (w.startsWith('/') && fs.existsSync(path.join(root, w)) ? path.join(root, w) : w)),
          ]
        : [];
    });
}

function startService([file, ...args]) {
  service = pty.spawn(file, args, {
    name: 'vt100',
    cols: 120,
    rows: 40,
    cwd: root,
    env: { PATH: '/usr/bin:/bin', HOME: '/root', TERM: 'vt100' },
  });
  fs.writeFileSync(path.join(runDir, `${name}.service.pid`), String(service.pid));
  service.onData((d) => toConsole(d));
  service.onExit(() => {
    service = null;
    if (stopping) finish();
  });
}

function loginPrompt(data) {
  // A getty on the serial console: echoes what is typed and prompts again at each line.
  toConsole(data.replace(/\r/g, '\r\n'));
  if (/[\r\n]/.test(data)) {
    toConsole(`${name} console login: `);
  }
}

function finish() {
  withState(
    'zones',
    () => ({ zones: {}, nextId: 1 }),
    (doc) => {
      const z = doc.zones[name];
      if (z && z.state === 'running') Object.assign(z, { state: 'installed', id: null });
    },
  );
  fs.rmSync(socketPath, { force: true });
  fs.rmSync(path.join(runDir, `${name}.guest.pid`), { force: true });
  fs.rmSync(path.join(runDir, `${name}.service.pid`), { force: true });
  process.exit(0);
}

process.on('SIGTERM', () => {
  stopping = true;
  if (!service) return finish();
  try {
    process.kill(-service.pid, 'SIGTERM');
  } catch {
    finish();
  }
});

fs.rmSync(socketPath, { force: true });
const server = net.createServer((sock) => {
  clients.add(sock);
  sock.on('data', (d) => (service ? service.write(d.toString('utf8')) : loginPrompt(d.toString('utf8'))));
  sock.on('close', () => clients.delete(sock));
  sock.on('error', () => clients.delete(sock));
});
server.listen(socketPath, () => {
  toConsole(
    brand === 'bhyve'
      ? `\r\nBooting from Hard Disk...\r\n${name} console login: `
      : `\r\nSunOS Release 5.11 Version omnios-r151046 64-bit\r\nHostname: ${name}\r\n`,
  );
  const methods = brand === 'bhyve' ? [] : siteStartMethods();
  if (methods.length > 0) startService(methods[0]);
  else if (brand !== 'bhyve') toConsole(`\r\n${name} console login: `);
});
