/* global module */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS scripts run by node directly */
'use strict';
// Simulated zfs and zpool. Datasets live in <state>/zfs.json; a filesystem's mountpoint is a
// real directory, a snapshot keeps a copy of it (so rollback, clone and send carry real files),
// and `zfs send` writes a stream that only this `zfs receive` reads (header `SIMZFS1`).
const fs = require('node:fs');
const path = require('node:path');
const { stateDir, fail, getopt } = require('./sim-state.cjs');

const POOL_SIZE = 107374182400;
function initZfs() {
  const base = stateDir();
  const ds = (type, props = {}) => ({ type, props, created: Math.floor(Date.now() / 1000), origin: null, holds: {} });
  return {
    pools: {
      rpool: {
        health: 'ONLINE',
        scan: 'none requested',
        props: { autoexpand: 'off', autoreplace: 'off', failmode: 'wait' },
        disks: ['c1t0d0', 'c1t1d0'],
      },
    },
    datasets: {
      rpool: ds('filesystem', { mountpoint: path.join(base, 'rpool') }),
      'rpool/ROOT': ds('filesystem', { mountpoint: 'legacy' }),
      'rpool/ROOT/omnios-r151046': ds('filesystem', { mountpoint: '/' }),
      'rpool/zones': ds('filesystem', { mountpoint: path.join(base, 'zones'), compression: 'lz4' }),
      'rpool/images': ds('filesystem', { mountpoint: path.join(base, 'images') }),
      'rpool/swap': ds('volume', { volsize: '4294967296' }),
    },
  };
}

const DEFAULTS = {
  compression: 'off',
  quota: '0',
  reservation: '0',
  recordsize: '131072',
  atime: 'on',
  readonly: 'off',
  copies: '1',
};

function mountpointOf(doc, name) {
  for (let n = name, suffix = ''; n;) {
    const mp = doc.datasets[n]?.props.mountpoint;
    if (mp) return mp === 'legacy' || mp === 'none' ? null : path.join(mp, suffix);
    const i = n.lastIndexOf('/');
    if (i < 0) return null;
    suffix = path.join(n.slice(i + 1), suffix);
    n = n.slice(0, i);
  }
  return null;
}

function propSource(doc, name, prop) {
  if (doc.datasets[name].props[prop] !== undefined) return ['local', doc.datasets[name].props[prop]];
  for (let n = name; n.includes('/');) {
    n = n.slice(0, n.lastIndexOf('/'));
    const v = doc.datasets[n]?.props[prop];
    if (v !== undefined && prop !== 'volsize') return [`inherited from ${n}`, v];
  }
  return ['default', DEFAULTS[prop] ?? '-'];
}

function dirBytes(dir) {
  if (!dir || !fs.existsSync(dir)) return 0;
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : e.isFile() ? fs.statSync(p).size : 0;
  }
  return total;
}

function sizes(doc, name) {
  const d = doc.datasets[name];
  if (d.type === 'volume') return { used: Number(d.props.volsize), refer: 8192 };
  if (d.type === 'snapshot') return { used: 0, refer: dirBytes(snapDir(name)) };
  const refer = 98304 + (name.startsWith('rpool/ROOT') ? 0 : dirBytes(mountpointOf(doc, name)));
  const children = Object.keys(doc.datasets).filter(
    (n) => n.startsWith(`${name}/`) && !n.slice(name.length + 1).includes('/'),
  );
  return { used: refer + children.reduce((s, c) => s + sizes(doc, c).used, 0), refer };
}

function poolUsed(doc) {
  return Object.keys(doc.datasets)
    .filter((n) => !n.includes('/') && !n.includes('@'))
    .reduce((s, n) => s + sizes(doc, n).used, 0);
}

function need(doc, name) {
  return doc.datasets[name] ?? fail(`cannot open '${name}': dataset does not exist`);
}

const snapDir = (snap) => path.join(stateDir(), 'snapshots', snap.replace(/[/@]/g, '_'));

function column(doc, name, col, parsable) {
  const d = doc.datasets[name];
  const s = sizes(doc, name);
  const human = (n) =>
    parsable
      ? String(n)
      : n >= 1 << 30
        ? `${(n / (1 << 30)).toFixed(1)}G`
        : n >= 1 << 20
          ? `${(n / (1 << 20)).toFixed(1)}M`
          : `${Math.round(n / 1024)}K`;
  switch (col) {
    case 'name':
      return name;
    case 'type':
      return d.type;
    case 'used':
      return human(s.used);
    case 'avail':
    case 'available':
      return d.type === 'snapshot' ? '-' : human(POOL_SIZE - poolUsed(doc));
    case 'refer':
    case 'referenced':
      return human(s.refer);
    case 'mountpoint':
      return d.type === 'filesystem'
        ? d.props.mountpoint === 'legacy'
          ? 'legacy'
          : (mountpointOf(doc, name) ?? 'none')
        : '-';
    case 'origin':
      return d.origin ?? '-';
    case 'creation':
      return parsable ? String(d.created) : new Date(d.created * 1000).toString();
    case 'volsize':
      return d.type === 'volume' ? human(Number(d.props.volsize)) : '-';
    default:
      return propSource(doc, name, col)[1];
  }
}

function selectDatasets(doc, names, opts) {
  const types = opts.t ? opts.t[0].split(',') : opts.r ? ['filesystem', 'volume'] : ['filesystem', 'volume'];
  const all = Object.keys(doc.datasets).sort();
  if (names.length === 0) return all.filter((n) => types.includes(doc.datasets[n].type) || types.includes('all'));
  return names.flatMap((n) => {
    need(doc, n);
    if (!opts.r && !opts.d) return [n];
    const depth = opts.d ? Number(opts.d[0]) : Infinity;
    return all.filter(
      (c) =>
        (c === n || c.startsWith(`${n}/`) || c.startsWith(`${n}@`)) &&
        c.slice(n.length).split(/[/@]/).length - 1 <= depth &&
        (types.includes(doc.datasets[c].type) || types.includes('all')),
    );
  });
}

function list(doc, argv) {
  const { opts, rest } = getopt(argv, ['o', 't', 's', 'd'], ['H', 'p', 'r']);
  const cols = opts.o ? opts.o[0].split(',') : ['name', 'used', 'avail', 'refer', 'mountpoint'];
  const rows = selectDatasets(doc, rest, opts).map((n) => cols.map((c) => column(doc, n, c, !!opts.p)));
  if (opts.H) return rows.map((r) => r.join('\t') + '\n').join('');
  return [cols.map((c) => c.toUpperCase()), ...rows]
    .map(
      (r) =>
        r
          .map((v) => v.padEnd(24))
          .join(' ')
          .trimEnd() + '\n',
    )
    .join('');
}

const ALL_PROPS = [
  'type',
  'creation',
  'used',
  'available',
  'referenced',
  'mountpoint',
  'origin',
  'compression',
  'quota',
  'reservation',
  'recordsize',
  'atime',
  'readonly',
  'copies',
  'volsize',
];
function get(doc, argv) {
  const { opts, rest } = getopt(argv, ['o', 't', 's', 'd'], ['H', 'p', 'r']);
  const [which, ...names] = rest;
  if (!which || names.length === 0) fail('missing property or dataset argument', 2);
  let out = '';
  for (const n of selectDatasets(doc, names, opts)) {
    const userProps = Object.keys(doc.datasets[n].props).filter((p) => p.includes(':'));
    const props = which === 'all' ? [...ALL_PROPS, ...userProps] : which.split(',');
    for (const p of props) {
      const computed = ['type', 'creation', 'used', 'available', 'referenced', 'origin', 'volsize'].includes(p);
      const value = computed ? column(doc, n, p, !!opts.p) : propSource(doc, n, p)[1];
      const source = computed
        ? '-'
        : p.includes(':') && doc.datasets[n].props[p] === undefined
          ? '-'
          : propSource(doc, n, p)[0];
      out += opts.H ? `${n}\t${p}\t${value}\t${source}\n` : `${n}  ${p}  ${value}  ${source}\n`;
    }
  }
  return out;
}

function setProps(doc, name, assignments) {
  for (const a of assignments) {
    const m = /^([a-z][a-z0-9_:.-]*)=(.*)$/.exec(a) ?? fail(`bad property assignment '${a}'`, 2);
    if (['type', 'used', 'available', 'referenced', 'creation', 'origin'].includes(m[1]))
      fail(`cannot set property for '${name}': '${m[1]}' is readonly`);
    if (!ALL_PROPS.includes(m[1]) && !m[1].includes(':')) fail(`invalid property '${m[1]}'`, 2);
    doc.datasets[name].props[m[1]] = m[2];
    if (m[1] === 'mountpoint' && m[2].startsWith('/')) fs.mkdirSync(m[2], { recursive: true });
  }
}

function create(doc, argv) {
  const { opts, rest } = getopt(argv, ['o', 'V', 'b'], ['p', 's']);
  const name = rest[0] ?? fail('missing dataset name', 2);
  if (doc.datasets[name]) fail(`cannot create '${name}': dataset already exists`);
  const parent = name.slice(0, name.lastIndexOf('/'));
  if (!doc.datasets[parent]) {
    if (!opts.p) fail(`cannot create '${name}': parent does not exist`);
    create(doc, ['-p', parent]);
  }
  if (opts.V && !/^\d+[KMGT]?$/.test(opts.V[0])) fail(`bad volume size '${opts.V[0]}'`, 2);
  const mult = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
  const volsize = opts.V
    ? String(Number(opts.V[0].replace(/[KMGT]$/, '')) * (mult[opts.V[0].slice(-1)] ?? 1))
    : undefined;
  doc.datasets[name] = {
    type: opts.V ? 'volume' : 'filesystem',
    props: volsize ? { volsize } : {},
    created: Math.floor(Date.now() / 1000),
    origin: null,
    holds: {},
  };
  setProps(doc, name, opts.o ?? []);
  const mp = mountpointOf(doc, name);
  if (!opts.V && mp) fs.mkdirSync(mp, { recursive: true });
}

function destroy(doc, argv) {
  const { opts, rest } = getopt(argv, [], ['r', 'R', 'f', 'd']);
  const name = rest[0] ?? fail('missing dataset name', 2);
  need(doc, name);
  // `destroy -r fs@snap` takes the snapshot of that name in every descendant too.
  const [base, tag] = name.split('@');
  const children = tag
    ? opts.r
      ? Object.keys(doc.datasets).filter((n) => n !== name && n.startsWith(`${base}/`) && n.endsWith(`@${tag}`))
      : []
    : Object.keys(doc.datasets).filter((n) => n.startsWith(`${name}/`) || n.startsWith(`${name}@`));
  if (children.length > 0 && !opts.r && !opts.R)
    fail(
      `cannot destroy '${name}': filesystem has children\nuse '-r' to destroy the following datasets:\n${children.join('\n')}`,
    );
  const victims = [...children, name];
  for (const v of victims) {
    if (Object.keys(doc.datasets[v].holds).length > 0) fail(`cannot destroy snapshot ${v}: dataset is busy`);
    const dependents = Object.keys(doc.datasets).filter((n) => doc.datasets[n].origin === v && !victims.includes(n));
    if (dependents.length > 0 && !opts.R)
      fail(
        `cannot destroy '${v}': snapshot has dependent clones\nuse '-R' to destroy the following datasets:\n${dependents.join('\n')}`,
      );
  }
  for (const v of victims.reverse()) {
    if (doc.datasets[v].type === 'filesystem' && !v.startsWith('rpool/ROOT')) {
      const mp = mountpointOf(doc, v);
      if (mp && mp.startsWith(stateDir())) fs.rmSync(mp, { recursive: true, force: true });
    }
    if (doc.datasets[v].type === 'snapshot') fs.rmSync(snapDir(v), { recursive: true, force: true });
    delete doc.datasets[v];
  }
}

function snapshot(doc, argv) {
  const { opts, rest } = getopt(argv, ['o'], ['r']);
  for (const snap of rest) {
    const [name, tag] = snap.split('@');
    if (!tag) fail(`cannot create snapshot '${snap}': missing '@' delimiter in snapshot name`, 2);
    const targets = opts.r
      ? Object.keys(doc.datasets).filter((n) => (n === name || n.startsWith(`${name}/`)) && !n.includes('@'))
      : [need(doc, name) && name];
    for (const t of targets) {
      if (doc.datasets[`${t}@${tag}`]) fail(`cannot create snapshot '${t}@${tag}': dataset already exists`);
      doc.datasets[`${t}@${tag}`] = {
        type: 'snapshot',
        props: {},
        created: Math.floor(Date.now() / 1000),
        origin: null,
        holds: {},
      };
      const mp = doc.datasets[t].type === 'filesystem' ? mountpointOf(doc, t) : null;
      fs.mkdirSync(snapDir(`${t}@${tag}`), { recursive: true });
      if (mp && fs.existsSync(mp) && mp.startsWith(stateDir())) copyShallow(mp, snapDir(`${t}@${tag}`), doc, t);
    }
  }
}

/** Copies a dataset's own files (not those of child datasets mounted below it). */
function copyShallow(from, to, doc, name) {
  const childMounts = Object.keys(doc.datasets)
    .filter((n) => n.startsWith(`${name}/`) && doc.datasets[n].type === 'filesystem')
    .map((n) => mountpointOf(doc, n));
  fs.cpSync(from, to, { recursive: true, filter: (src) => !childMounts.includes(src) });
}

module.exports = {
  initZfs,
  mountpointOf,
  snapDir,
  need,
  sizes,
  poolUsed,
  list,
  get,
  setProps,
  create,
  destroy,
  snapshot,
  copyShallow,
  POOL_SIZE,
};
Object.assign(module.exports, require('./zfs-commands.cjs')(module.exports));
