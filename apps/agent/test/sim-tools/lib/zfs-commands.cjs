/* global module */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS scripts run by node directly */
'use strict';
// The rest of the simulated zfs (rollback, clone, promote, rename, holds, send/receive) and zpool.
const fs = require('node:fs');
const path = require('node:path');
const { withState, readState, fail, runTool, getopt, stateDir } = require('./sim-state.cjs');

module.exports = (z) => {
  const { initZfs, mountpointOf, snapDir, need, sizes, poolUsed, POOL_SIZE } = z;

  function rollback(doc, argv) {
    const { opts, rest } = getopt(argv, [], ['r', 'R', 'f']);
    const snap = rest[0];
    need(doc, snap);
    const [name] = snap.split('@');
    const later = Object.keys(doc.datasets).filter(
      (n) => n.startsWith(`${name}@`) && doc.datasets[n].created > doc.datasets[snap].created,
    );
    if (later.length > 0 && !opts.r)
      fail(
        `cannot rollback to '${snap}': more recent snapshots or bookmarks exist\nuse '-r' to force deletion of the following snapshots and bookmarks:\n${later.join('\n')}`,
      );
    for (const l of later) delete doc.datasets[l];
    const mp = mountpointOf(doc, name);
    if (mp && mp.startsWith(stateDir())) {
      fs.rmSync(mp, { recursive: true, force: true });
      fs.cpSync(snapDir(snap), mp, { recursive: true });
    }
  }

  function clone(doc, argv) {
    const { opts, rest } = getopt(argv, ['o'], ['p']);
    const [snap, target] = rest;
    if (need(doc, snap).type !== 'snapshot') fail(`cannot clone '${snap}': not a snapshot`, 2);
    if (doc.datasets[target]) fail(`cannot create '${target}': dataset already exists`);
    const parent = target.slice(0, target.lastIndexOf('/'));
    if (!doc.datasets[parent]) {
      if (!opts.p) fail(`cannot create '${target}': parent does not exist`);
      z.create(doc, ['-p', parent]);
    }
    const [source] = snap.split('@');
    doc.datasets[target] = {
      type: doc.datasets[source].type,
      props: { ...(doc.datasets[source].type === 'volume' ? { volsize: doc.datasets[source].props.volsize } : {}) },
      created: Math.floor(Date.now() / 1000),
      origin: snap,
      holds: {},
    };
    z.setProps(doc, target, opts.o ?? []);
    const mp = doc.datasets[target].type === 'filesystem' ? mountpointOf(doc, target) : null;
    if (mp) fs.cpSync(snapDir(snap), mp, { recursive: true });
  }

  function promote(doc, argv) {
    const name = argv[0];
    const origin = need(doc, name).origin ?? fail(`cannot promote '${name}': not a cloned filesystem`);
    const [source, tag] = origin.split('@');
    doc.datasets[`${name}@${tag}`] = doc.datasets[origin];
    delete doc.datasets[origin];
    doc.datasets[name].origin = null;
    doc.datasets[source].origin = `${name}@${tag}`;
  }

  function rename(doc, argv) {
    const { rest } = getopt(argv, [], ['p', 'f', 'u', 'r']);
    const [from, to] = rest;
    need(doc, from);
    if (doc.datasets[to]) fail(`cannot rename to '${to}': dataset already exists`);
    const oldMp = mountpointOf(doc, from);
    for (const n of Object.keys(doc.datasets)) {
      if (n === from || n.startsWith(`${from}/`) || n.startsWith(`${from}@`)) {
        doc.datasets[to + n.slice(from.length)] = doc.datasets[n];
        delete doc.datasets[n];
      }
    }
    const newMp = mountpointOf(doc, to);
    if (oldMp && newMp && oldMp !== newMp && fs.existsSync(oldMp)) fs.renameSync(oldMp, newMp);
  }

  function hold(doc, argv, release) {
    const { rest } = getopt(argv, [], ['r']);
    const [tag, ...snaps] = rest;
    for (const s of snaps) {
      const d = need(doc, s);
      if (release) {
        if (!d.holds[tag]) fail(`cannot release hold from snapshot '${s}': no such tag on this dataset`);
        delete d.holds[tag];
      } else {
        if (d.holds[tag]) fail(`cannot hold snapshot '${s}': tag already exists on this dataset`);
        d.holds[tag] = Math.floor(Date.now() / 1000);
      }
    }
  }

  function holds(doc, argv) {
    const { opts, rest } = getopt(argv, [], ['H', 'r', 'p']);
    let out = opts.H ? '' : 'NAME  TAG  TIMESTAMP\n';
    for (const s of rest)
      for (const [tag, at] of Object.entries(need(doc, s).holds))
        out += [s, tag, new Date(at * 1000).toString()].join(opts.H ? '\t' : '  ') + '\n';
    return out;
  }

  /** A stream of the snapshot (and, with -R, its descendants' snapshots of the same name). */
  function send(argv) {
    const { opts, rest } = getopt(argv, ['i', 'I'], ['R', 'p', 'v', 'c', 'e', 'L']);
    const doc = readState('zfs', initZfs);
    const snap = rest[0] ?? fail('missing snapshot argument', 2);
    if (need(doc, snap).type !== 'snapshot') fail(`'${snap}' is not a snapshot`, 2);
    const [name, tag] = snap.split('@');
    const members = opts.R
      ? Object.keys(doc.datasets).filter(
          (n) => (n === name || n.startsWith(`${name}/`)) && !n.includes('@') && doc.datasets[`${n}@${tag}`],
        )
      : [name];
    const datasets = members.map((m) => ({
      rel: m.slice(name.length),
      type: doc.datasets[m].type,
      props: doc.datasets[m].props,
      files: packDir(snapDir(`${m}@${tag}`)),
    }));
    if (process.stdout.isTTY)
      fail('Error: Stream can not be written to a terminal.\nYou must redirect standard output.');
    fs.writeSync(1, `SIMZFS1\n${JSON.stringify({ tag, datasets })}\n`);
  }

  function packDir(dir, rel = '') {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) return [{ path: r, dir: true }, ...packDir(dir, r)];
      return e.isFile()
        ? [
            {
              path: r,
              mode: fs.statSync(path.join(dir, r)).mode & 0o777,
              data: fs.readFileSync(path.join(dir, r)).toString('base64'),
            },
          ]
        : [];
    });
  }

  function receive(argv) {
    const { opts, rest } = getopt(argv, ['o', 'x'], ['F', 'u', 'v', 'n', 'd', 'e']);
    const target = rest[0] ?? fail('missing dataset argument', 2);
    const text = fs.readFileSync(0, 'utf8');
    if (!text.startsWith('SIMZFS1\n')) fail('cannot receive: invalid stream (bad magic number)');
    const stream = JSON.parse(text.slice(8));
    withState('zfs', initZfs, (doc) => {
      if (doc.datasets[target] && !opts.F)
        fail(`cannot receive new filesystem stream: destination '${target}' exists\nmust specify -F to overwrite it`);
      if (doc.datasets[target]) z.destroy(doc, ['-r', target]);
      for (const d of stream.datasets) {
        const name = target + d.rel;
        z.create(doc, [...(d.type === 'volume' ? ['-V', d.props.volsize] : []), name]);
        Object.assign(doc.datasets[name].props, d.props);
        const mp = d.type === 'filesystem' ? mountpointOf(doc, name) : null;
        if (mp) {
          for (const f of d.files) {
            if (f.dir) fs.mkdirSync(path.join(mp, f.path), { recursive: true });
            else fs.writeFileSync(path.join(mp, f.path), Buffer.from(f.data, 'base64'), { mode: f.mode });
          }
        }
        z.snapshot(doc, [`${name}@${stream.tag}`]);
      }
    });
  }

  function zfsMain(argv) {
    const [sub, ...args] = argv;
    if (sub === 'list') return z.list(readState('zfs', initZfs), args);
    if (sub === 'get') return z.get(readState('zfs', initZfs), args);
    if (sub === 'holds') return holds(readState('zfs', initZfs), args);
    if (sub === 'send') return send(args);
    if (sub === 'receive' || sub === 'recv') return receive(args);
    const writers = {
      create: z.create,
      destroy: z.destroy,
      snapshot: z.snapshot,
      snap: z.snapshot,
      rollback,
      clone,
      promote,
      rename,
      hold: (doc, a) => hold(doc, a, false),
      release: (doc, a) => hold(doc, a, true),
      set: (doc, a) => {
        const name = a[a.length - 1];
        need(doc, name);
        z.setProps(doc, name, a.slice(0, -1));
      },
    };
    const fn = writers[sub] ?? fail(`unrecognized command '${sub}'`, 2);
    return void withState('zfs', initZfs, (doc) => fn(doc, args));
  }

  function zpoolLine(doc, name, cols, parsable) {
    const used = poolUsed(doc);
    const v = {
      name,
      size: POOL_SIZE,
      alloc: used,
      free: POOL_SIZE - used,
      frag: parsable ? '3' : '3%',
      cap: parsable ? String(Math.round((used / POOL_SIZE) * 100)) : `${Math.round((used / POOL_SIZE) * 100)}%`,
      dedup: parsable ? '1.00' : '1.00x',
      health: doc.pools[name].health,
      altroot: '-',
      ckpoint: '-',
      expandsz: '-',
    };
    return cols.map((c) => String(v[c] ?? doc.pools[name].props[c] ?? '-'));
  }

  function zpoolStatus(doc, name) {
    const p = doc.pools[name];
    let out = `  pool: ${name}\n state: ${p.health}\n  scan: ${p.scan}\nconfig:\n\n\tNAME        STATE     READ WRITE CKSUM\n\t${name.padEnd(11)} ${p.health.padEnd(8)}     0     0     0\n\t  mirror-0  ${p.health.padEnd(8)}     0     0     0\n`;
    for (const d of p.disks) out += `\t    ${d.padEnd(7)} ${p.health.padEnd(8)}     0     0     0\n`;
    return `${out}\nerrors: No known data errors\n`;
  }

  function zpoolMain(argv) {
    const [sub, ...args] = argv;
    const { opts, rest } = getopt(args, ['o'], ['H', 'p', 'v', 'x', 's', 'L', 'P']);
    const doc = readState('zfs', initZfs);
    const pools = rest.filter((r) => !/^\d+$/.test(r));
    for (const p of pools.slice(sub === 'set' || sub === 'get' ? 1 : 0))
      if (!doc.pools[p]) fail(`cannot open '${p}': no such pool`);
    const names = (sub === 'get' || sub === 'set' ? pools.slice(1) : pools).length
      ? sub === 'get' || sub === 'set'
        ? pools.slice(1)
        : pools
      : Object.keys(doc.pools);
    switch (sub) {
      case 'list': {
        const cols = opts.o
          ? opts.o[0].split(',')
          : ['name', 'size', 'alloc', 'free', 'ckpoint', 'expandsz', 'frag', 'cap', 'dedup', 'health', 'altroot'];
        const rows = names.map((n) => zpoolLine(doc, n, cols, !!opts.p));
        return (opts.H ? rows : [cols.map((c) => c.toUpperCase()), ...rows])
          .map((r) => r.join(opts.H ? '\t' : '  ') + '\n')
          .join('');
      }
      case 'status':
        return names.map((n) => zpoolStatus(doc, n)).join('\n');
      case 'get': {
        const props =
          rest[0] === 'all'
            ? ['size', 'capacity', 'health', 'free', 'allocated', ...Object.keys(doc.pools[names[0]].props)]
            : rest[0].split(',');
        return names
          .flatMap((n) =>
            props.map(
              (p) =>
                `${n}\t${p}\t${zpoolLine(doc, n, [{ capacity: 'cap', allocated: 'alloc' }[p] ?? p], !!opts.p)[0]}\t${doc.pools[n].props[p] !== undefined ? 'local' : '-'}\n`,
            ),
          )
          .join('');
      }
      case 'set':
        return void withState('zfs', initZfs, (d) => {
          const [k, v] = rest[0].split('=');
          d.pools[rest[1]].props[k] = v;
        });
      case 'scrub':
        return void withState('zfs', initZfs, (d) => {
          for (const n of names)
            d.pools[n].scan = opts.s
              ? 'scrub canceled'
              : `scrub repaired 0 in 0 days 00:00:01 with 0 errors on ${new Date().toString().slice(0, 24)}`;
        });
      case 'iostat': {
        const rows = names.map((n) => [
          n,
          String(poolUsed(doc)),
          String(POOL_SIZE - poolUsed(doc)),
          '12',
          '34',
          '49152',
          '139264',
        ]);
        return rows.map((r) => r.join(opts.H ? '\t' : '  ') + '\n').join('');
      }
      default:
        fail(`unrecognized command '${sub}'`, 2);
    }
  }

  /** zoneadm install: the zonepath's dataset, a child of the dataset mounted at the zonepath's parent. */
  function createZoneDataset(zonepath) {
    withState('zfs', initZfs, (doc) => {
      const parent = Object.keys(doc.datasets).find(
        (n) => doc.datasets[n].type === 'filesystem' && mountpointOf(doc, n) === path.dirname(zonepath),
      );
      if (parent && !doc.datasets[`${parent}/${path.basename(zonepath)}`])
        z.create(doc, [`${parent}/${path.basename(zonepath)}`]);
      else fs.mkdirSync(zonepath, { recursive: true });
    });
  }

  function destroyZoneDataset(zonepath) {
    withState('zfs', initZfs, (doc) => {
      const own = Object.keys(doc.datasets).find(
        (n) => doc.datasets[n].type === 'filesystem' && mountpointOf(doc, n) === zonepath,
      );
      if (own) z.destroy(doc, ['-r', own]);
    });
  }

  return {
    main: (tool) => runTool(tool, tool === 'zpool' ? zpoolMain : zfsMain),
    createZoneDataset,
    destroyZoneDataset,
    sizes,
  };
};
