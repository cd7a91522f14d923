/* global module */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS scripts run by node directly */
'use strict';
// Simulated swap, beadm, pkg, kstat, vmstat, svcs and svcadm over <state>/system.json. kstat
// and vmstat report this Linux host's real load and memory in illumos's formats, and a running
// zone's memory and CPU from its processes (/proc), so figures move like a host's do.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { withState, readState, fail, runTool, getopt, stateDir } = require('./sim-state.cjs');

function initSystem() {
  const now = Math.floor(Date.now() / 1000);
  return {
    swap: [{ path: '/dev/zvol/dsk/rpool/swap', dev: '256,1', blocks: 8388592, free: 8388592 }],
    bes: [
      {
        name: 'omnios-r151044',
        uuid: randomUUID(),
        active: '',
        mountpoint: '-',
        space: 2147483648,
        policy: 'static',
        created: now - 86400 * 90,
      },
      {
        name: 'omnios-r151046',
        uuid: randomUUID(),
        active: 'NR',
        mountpoint: '/',
        space: 3565158400,
        policy: 'static',
        created: now - 86400 * 10,
      },
    ],
    packages: {
      'system/library': { version: '0.5.11-151046.0', installed: true, summary: 'Core System Libraries' },
      'network/openssh': { version: '9.4.1-151046.0', installed: true, summary: 'OpenSSH Client and utilities' },
      'web/server/nginx': { version: '1.24.0-151046.0', installed: false, summary: 'nginx web server' },
      'database/postgresql-16': { version: '16.1-151046.0', installed: false, summary: 'PostgreSQL 16' },
    },
    updates: { 'network/openssh': '9.5.1-151046.1' },
    services: {
      'svc:/network/ssh:default': { state: 'online', stime: '10:03:11' },
      'svc:/system/zones:default': { state: 'online', stime: '10:03:09' },
      'svc:/network/ntp:default': { state: 'disabled', stime: '10:03:01' },
      'svc:/site/hostplane-agent:default': { state: 'online', stime: '10:04:00' },
      'svc:/application/pkg/server:default': { state: 'maintenance', stime: '10:03:20' },
    },
  };
}

function swap(argv) {
  const { opts } = getopt(argv, ['a', 'd'], ['l', 's', 'h']);
  if (opts.l) {
    const doc = readState('system', initSystem);
    return (
      'swapfile             dev    swaplo   blocks     free\n' +
      doc.swap
        .map(
          (s) =>
            `${s.path} ${s.dev.padStart(6)} ${'8'.padStart(8)} ${String(s.blocks).padStart(8)} ${String(s.free).padStart(8)}\n`,
        )
        .join('')
    );
  }
  if (opts.s) {
    const doc = readState('system', initSystem);
    const totalK = doc.swap.reduce((s, d) => s + d.blocks / 2, 0) + Math.floor(os.totalmem() / 1024);
    const usedK = Math.floor((os.totalmem() - os.freemem()) / 1024 / 4);
    return `total: ${Math.floor(usedK * 0.8)}k bytes allocated + ${Math.floor(usedK * 0.2)}k reserved = ${usedK}k used, ${Math.floor(totalK - usedK)}k available\n`;
  }
  return void withState('system', initSystem, (doc) => {
    if (opts.a) {
      const dev = opts.a[0];
      if (!dev.startsWith('/dev/zvol/dsk/')) fail(`${dev}: Not a block device or zvol`);
      const zfs = readState('zfs', () => ({ datasets: {} }));
      const ds = zfs.datasets[dev.slice('/dev/zvol/dsk/'.length)];
      if (!ds || ds.type !== 'volume') fail(`${dev}: No such file or directory`);
      if (doc.swap.some((s) => s.path === dev)) fail(`${dev}: Overlapping swap files are not allowed`);
      doc.swap.push({
        path: dev,
        dev: `256,${doc.swap.length + 1}`,
        blocks: Number(ds.props.volsize) / 512 - 8,
        free: Number(ds.props.volsize) / 512 - 8,
      });
    } else if (opts.d) {
      if (!doc.swap.some((s) => s.path === opts.d[0])) fail(`${opts.d[0]}: Not a swap file`);
      doc.swap = doc.swap.filter((s) => s.path !== opts.d[0]);
    } else fail('usage: swap -l | -s | -a path | -d path', 2);
  });
}

function beadm(argv) {
  const [sub, ...args] = argv;
  const { opts, rest } = getopt(args, ['e', 'o', 'p'], ['H', 'a', 'F', 'f', 's', 'd']);
  if (sub === 'list') {
    const doc = readState('system', initSystem);
    if (!opts.H) fail('only -H output is simulated', 2);
    return doc.bes
      .map((b) => [b.name, b.uuid, b.active, b.mountpoint, b.space, b.policy, b.created].join(';') + '\n')
      .join('');
  }
  return void withState('system', initSystem, (doc) => {
    const name = rest[0] ?? fail('BE name required', 2);
    const be = doc.bes.find((b) => b.name === name);
    switch (sub) {
      case 'create':
        if (be) fail(`Unable to create ${name}.\nBE ${name} already exists.`);
        if (opts.e && !doc.bes.some((b) => b.name === opts.e[0]))
          fail(`Unable to create ${name}.\nBE ${opts.e[0]} does not exist.`);
        doc.bes.push({
          name,
          uuid: randomUUID(),
          active: '',
          mountpoint: '-',
          space: 8192,
          policy: 'static',
          created: Math.floor(Date.now() / 1000),
        });
        return;
      case 'destroy':
        if (!be) fail(`Unable to destroy ${name}.\nBE ${name} does not exist.`);
        if (be.active.includes('N')) fail(`Unable to destroy ${name}.\nIt is the currently active BE.`);
        if (!opts.F) fail('Use -F to destroy without confirmation.', 2);
        doc.bes = doc.bes.filter((b) => b !== be);
        return;
      case 'activate':
        if (!be) fail(`Unable to activate ${name}.\nBE ${name} does not exist.`);
        for (const b of doc.bes) b.active = b.active.replace('R', '');
        be.active += 'R';
        return;
      case 'mount':
        if (!be) fail(`Unable to mount ${name}.\nBE ${name} does not exist.`);
        be.mountpoint = rest[1] ?? fail('mountpoint required', 2);
        return;
      case 'unmount':
        if (!be) fail(`Unable to unmount ${name}.\nBE ${name} does not exist.`);
        if (be.active.includes('N')) fail(`Unable to unmount ${name}.\nIt is the currently active BE.`);
        be.mountpoint = '-';
        return;
      default:
        fail(`${sub}: unknown subcommand`, 2);
    }
  });
}

function pkg(argv) {
  const [sub, ...args] = argv;
  const { opts, rest } = getopt(args, ['o', 's'], ['H', 'a', 'u', 'n', 'v', 'q', 'r', 'p', 'l']);
  const doc = readState('system', initSystem);
  const resolve = (n) => {
    const bare = n.replace(/^pkg:\//, '');
    return Object.keys(doc.packages).find((k) => k === bare || k.endsWith(`/${bare}`));
  };
  const need = (n) =>
    doc.packages[resolve(n)] ?? fail(`pkg ${sub}: no packages matching the following patterns:\n  ${n}`);
  switch (sub) {
    case 'list': {
      const names = rest.length
        ? rest.map((n) => (need(n), resolve(n)))
        : Object.keys(doc.packages).filter((n) => opts.a || doc.packages[n].installed);
      const shown = names.filter((n) => !opts.u || doc.updates[n]);
      if (shown.length === 0) return void (process.exitCode = 1);
      return shown
        .map(
          (n) => `${n.padEnd(50)}${doc.packages[n].version.padEnd(27)}${doc.packages[n].installed ? 'i--' : '---'}\n`,
        )
        .join('');
    }
    case 'info': {
      return rest
        .map((n) => {
          const p = need(n);
          if (!p.installed && !opts.r)
            fail(
              `pkg: info: no packages matching the following patterns you specified are\ninstalled on the system.  Try specifying -r to query remotely:\n\n        ${n}`,
            );
          return `          Name: ${resolve(n)}\n       Summary: ${p.summary}\n         State: ${p.installed ? 'Installed' : 'Not installed'}\n     Publisher: omnios\n       Version: ${p.version.split('-')[0]}\n        Branch: ${p.version.split('-')[1]}\n`;
        })
        .join('\n');
    }
    case 'search': {
      const term = rest[0] ?? fail('search: at least one search term must be provided', 2);
      const hits = Object.keys(doc.packages).filter((n) => n.includes(term.replace(/\*/g, '')));
      if (hits.length === 0) return void (process.exitCode = 1);
      return hits.map((n) => `pkg:/${n}@${doc.packages[n].version}`.padEnd(60) + 'omnios\n').join('');
    }
    case 'install':
    case 'uninstall':
    case 'update': {
      const targets = sub === 'update' ? (rest.length ? rest : Object.keys(doc.updates)) : rest;
      if (targets.length === 0) {
        process.exitCode = 4;
        return 'No updates available for this image.\n';
      }
      for (const t of targets) need(t);
      const todo = targets
        .map((t) => resolve(t))
        .filter((t) =>
          sub === 'install'
            ? !doc.packages[t].installed
            : sub === 'uninstall'
              ? doc.packages[t].installed
              : !!doc.updates[t],
        );
      if (todo.length === 0) {
        process.exitCode = 4;
        return 'No updates necessary for this image.\n';
      }
      let out = `           Packages to ${sub === 'install' ? 'install' : sub === 'uninstall' ? 'remove' : 'update'}: ${todo.length}\n`;
      if (opts.n) return out;
      withState('system', initSystem, (d) => {
        for (const t of todo) {
          if (sub === 'install') d.packages[t].installed = true;
          else if (sub === 'uninstall') d.packages[t].installed = false;
          else {
            d.packages[t].version = d.updates[t];
            delete d.updates[t];
          }
        }
      });
      out +=
        'Planning linked: 0/0 done; 1 working: zone:web01\nDOWNLOAD                                PKGS         FILES    XFER (MB)   SPEED\nCompleted                                ' +
        `${todo.length}/${todo.length}`.padEnd(13) +
        '  12/12      1.2/1.2  2.1M/s\n';
      return out;
    }
    default:
      fail(`unknown subcommand '${sub}'`, 2);
  }
}

function procStat(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const rss = Number(stat[21]) * 4096;
    return { rss, userNs: Number(stat[11]) * 1e7, sysNs: Number(stat[12]) * 1e7 };
  } catch {
    return { rss: 0, userNs: 0, sysNs: 0 };
  }
}

function kstatValues() {
  const v = [];
  const cpus = os.cpus();
  cpus.forEach((c, i) => {
    for (const [k, t] of Object.entries({ idle: c.times.idle, user: c.times.user, kernel: c.times.sys }))
      v.push([`cpu:${i}:sys:cpu_ticks_${k}`, Math.floor(t / 10)]);
  });
  const load = os.loadavg();
  v.push(
    ['unix:0:system_misc:avenrun_1min', Math.round(load[0] * 256)],
    ['unix:0:system_misc:avenrun_5min', Math.round(load[1] * 256)],
    ['unix:0:system_misc:avenrun_15min', Math.round(load[2] * 256)],
    ['unix:0:system_misc:ncpus', cpus.length],
  );
  v.push(
    ['unix:0:system_pages:physmem', Math.floor(os.totalmem() / 4096)],
    ['unix:0:system_pages:freemem', Math.floor(os.freemem() / 4096)],
    ['unix:0:system_pages:pagesize', 4096],
  );
  const arc = Math.floor(os.totalmem() / 8);
  v.push(
    ['zfs:0:arcstats:size', arc],
    ['zfs:0:arcstats:c', arc],
    ['zfs:0:arcstats:c_max', arc * 2],
    ['zfs:0:arcstats:c_min', arc / 8],
    ['zfs:0:arcstats:hits', 982341],
    ['zfs:0:arcstats:misses', 12034],
    ['zfs:0:arcstats:l2_size', 0],
  );
  v.push(
    ['link:0:e1000g0:rbytes64', 884736123],
    ['link:0:e1000g0:obytes64', 412160456],
    ['blkdev:1:blkdev1:nread', 1048576],
    ['blkdev:1:blkdev1:nwritten', 2097152],
    ['sd:0:sd0:nread', 73400320],
    ['sd:0:sd0:nwritten', 146800640],
    // A partition's I/O is also in its disk's; kstat files it under the partition class.
    ['sd:0:sd0,a:nread', 73400320],
    ['sd:0:sd0,a:nwritten', 146800640],
  );
  const zones = readState('zones', () => ({ zones: {} })).zones;
  for (const z of Object.values(zones).filter((x) => x.state === 'running')) {
    let svc = 0;
    try {
      svc = Number(fs.readFileSync(path.join(stateDir(), 'run', `${z.name}.service.pid`), 'utf8'));
    } catch {
      // A zone without a service: its init only.
    }
    let guest = 0;
    try {
      guest = Number(fs.readFileSync(path.join(stateDir(), 'run', `${z.name}.guest.pid`), 'utf8'));
    } catch {
      // Booting.
    }
    const s = [procStat(svc), procStat(guest)].reduce((a, b) => ({
      rss: a.rss + b.rss,
      userNs: a.userNs + b.userNs,
      sysNs: a.sysNs + b.sysNs,
    }));
    const cap = (z.resources['capped-memory']?.[0]?.physical ?? '0').replace(/G$/, '') * 1024 ** 3 || 0;
    v.push(
      [`memory_cap:${z.id}:${z.name}:rss`, s.rss],
      [`memory_cap:${z.id}:${z.name}:physcap`, cap],
      [`zones:${z.id}:${z.name}:nsec_user`, s.userNs],
      [`zones:${z.id}:${z.name}:nsec_sys`, s.sysNs],
    );
    for (const n of z.resources.net ?? [])
      v.push([`link:0:${n.physical}:rbytes64`, 4096], [`link:0:${n.physical}:obytes64`, 2048]);
  }
  return v;
}

/** The class kstat files each of these under (`kstat -c`), as on an illumos host. */
function kstatClass(key) {
  const [module, , name] = key.split(':');
  if (module === 'sd' || module === 'blkdev') return name.includes(',') ? 'partition' : 'disk';
  if (module === 'link') return 'net';
  if (module === 'memory_cap') return 'zone_memory_cap';
  if (module === 'zones') return 'zone_misc';
  if (name === 'system_pages') return 'pages';
  return 'misc';
}

function kstat(argv) {
  const { opts, rest } = getopt(argv, ['m', 'i', 'n', 's', 'c'], ['p']);
  if (!opts.p) fail('only -p output is simulated', 2);
  const glob = (g) =>
    g === undefined || g === '' ? /.*/ : new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  const wants = (rest.length ? rest : ['']).map((spec) => {
    const [m, i, n, s] = spec.split(':');
    return [opts.m?.[0] ?? m, opts.i?.[0] ?? i, opts.n?.[0] ?? n, opts.s?.[0] ?? s].map(glob);
  });
  const cls = opts.c ? glob(opts.c[0]) : /.*/;
  const out = kstatValues().filter(
    ([key]) =>
      cls.test(kstatClass(key)) && wants.some((want) => key.split(':').every((part, idx) => want[idx].test(part))),
  );
  if (out.length === 0) return void (process.exitCode = 1);
  return out.map(([k, val]) => `${k}\t${val}\n`).join('');
}

function vmstat(argv) {
  const count = Number(argv[1] ?? 1);
  const row = () => {
    const free = Math.floor(os.freemem() / 1024);
    const load = os.loadavg()[0];
    const idle = Math.max(0, Math.min(100, Math.round(100 - (load / os.cpus().length) * 100)));
    return ` ${Math.round(load)} 0 0 ${free * 2} ${free} 5 26 0 0 0  0  3  1  0  0  0  612  434  388 ${Math.ceil((100 - idle) * 0.7)} ${Math.floor((100 - idle) * 0.3)} ${idle}\n`;
  };
  let out =
    ' kthr      memory            page            disk          faults      cpu\n r b w   swap  free  re  mf pi po fr de sr s0 s1 -- --   in   sy   cs us sy id\n';
  for (let k = 0; k < count; k++) out += row();
  return out;
}

function svcs(argv) {
  const { opts, rest } = getopt(argv, ['o', 's'], ['H', 'a', 'x', 'p']);
  const doc = readState('system', initSystem);
  const cols = opts.o ? opts.o[0].split(',') : ['state', 'stime', 'fmri'];
  const match = (pattern) =>
    Object.keys(doc.services).filter(
      (f) =>
        f === pattern || f === `svc:/${pattern}` || f.startsWith(`svc:/${pattern}:`) || f.startsWith(`${pattern}:`),
    );
  const fmris = rest.length
    ? rest.flatMap((r) => (match(r).length ? match(r) : fail(`Pattern '${r}' doesn't match any instances`)))
    : Object.keys(doc.services).filter((f) => opts.a || doc.services[f].state !== 'disabled');
  const rows = fmris.map((f) => cols.map((c) => (c === 'fmri' ? f : (doc.services[f][c] ?? '-'))));
  const body = rows.map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(14))).join(' ') + '\n').join('');
  return opts.H
    ? body
    : cols
        .map((c) => c.toUpperCase().padEnd(14))
        .join(' ')
        .trimEnd() +
        '\n' +
        body;
}

function svcadm(argv) {
  const [sub, ...args] = argv;
  const { rest } = getopt(args, [], ['s', 'r', 't']);
  return void withState('system', initSystem, (doc) => {
    for (const pattern of rest) {
      const f =
        Object.keys(doc.services).find(
          (x) => x === pattern || x === `svc:/${pattern}` || x.startsWith(`svc:/${pattern}:`),
        ) ?? fail(`Pattern '${pattern}' doesn't match any instances`);
      const s = doc.services[f];
      const stime = new Date().toTimeString().slice(0, 8);
      if (sub === 'enable') Object.assign(s, { state: 'online', stime });
      else if (sub === 'disable') Object.assign(s, { state: 'disabled', stime });
      else if (sub === 'restart' || sub === 'refresh') {
        if (s.state !== 'online') fail(`${f}: Instance is not online`);
        s.stime = stime;
      } else if (sub === 'clear') {
        if (s.state !== 'maintenance' && s.state !== 'degraded')
          fail(`Instance "${f}" is not in a maintenance or degraded state.`);
        Object.assign(s, { state: 'online', stime });
      } else fail(`${sub}: unknown subcommand`, 2);
    }
  });
}

const MAINS = { swap, beadm, pkg, kstat, vmstat, svcs, svcadm };
module.exports = { main: (tool) => runTool(tool, MAINS[tool]) };
