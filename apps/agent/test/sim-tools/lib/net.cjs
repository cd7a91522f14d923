/* global module */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS scripts run by node directly */
'use strict';
// Simulated dladm, ipadm and netstat -rn over <state>/net.json: physical links, VNICs, VLANs,
// etherstubs, bridges, aggregations, link properties, IP address objects and routes.
const { withState, readState, fail, runTool, getopt, esc } = require('./sim-state.cjs');

function initNet() {
  return {
    phys: {
      e1000g0: { mtu: '1500', state: 'up', speed: '1000', mac: '0:c:29:3a:4b:5c' },
      e1000g1: { mtu: '1500', state: 'up', speed: '1000', mac: '0:c:29:3a:4b:5d' },
      e1000g2: { mtu: '1500', state: 'up', speed: '1000', mac: '0:c:29:3a:4b:5e' },
    },
    vnics: {},
    vlans: {},
    etherstubs: {},
    bridges: {},
    aggrs: {
      aggr0: {
        links: ['e1000g1', 'e1000g2'],
        policy: 'L4',
        addrpolicy: 'auto',
        lacpactivity: 'active',
        lacptimer: 'short',
      },
    },
    props: {},
    addrs: {
      'lo0/v4': { type: 'static', state: 'ok', addr: '127.0.0.1/8' },
      'e1000g0/v4': { type: 'static', state: 'ok', addr: '192.168.1.20/24' },
      'lo0/v6': { type: 'static', state: 'ok', addr: '::1/128' },
    },
    macSeq: 1,
  };
}

// Real datalink names: 1-31 characters, letters/digits/'_'/'.', ending in a digit.
const LINK_NAME = /^[A-Za-z][A-Za-z0-9_.]{0,29}[0-9]$/;
const LINK_PROPS = { maxbw: '--', priority: 'high', mtu: '1500', 'allowed-ips': '--', protection: '--', cpus: '--' };

function allLinks(doc) {
  return { ...doc.phys, ...doc.vnics, ...doc.vlans, ...doc.etherstubs, ...doc.aggrs };
}

function needLink(doc, name) {
  return allLinks(doc)[name] ?? fail(`invalid link name '${name}'`);
}

function checkNew(doc, name) {
  if (!LINK_NAME.test(name)) fail(`invalid link name '${name}'`);
  if (allLinks(doc)[name] || doc.bridges[name]) fail(`object already exists`);
}

/** Prints records with -p (colon-escaped) or as an aligned table. */
function show(rows, cols, opts) {
  if (opts.p)
    return rows.map((r) => cols.map((c) => (cols.length === 1 ? r[c] : esc(r[c] ?? '--'))).join(':') + '\n').join('');
  return [cols, ...rows.map((r) => cols.map((c) => r[c] ?? '--'))]
    .map(
      (r) =>
        r
          .map((v) => String(v).padEnd(12))
          .join(' ')
          .trimEnd() + '\n',
    )
    .join('');
}

function columns(opts, defaults) {
  return opts.o ? opts.o[0].toUpperCase().split(',') : defaults;
}

function parseProps(list) {
  const out = {};
  for (const item of (list ?? []).join(',').split(',').filter(Boolean)) {
    const [k, v] = item.split('=');
    if (!(k in LINK_PROPS)) fail(`invalid link property '${k}'`);
    out[k] = v;
  }
  return out;
}

function dladm(argv) {
  const [sub, ...args] = argv;
  // `-p` is "parsable" for show-*, but "property" for create-*/set-linkprop and show-linkprop
  // (whose parsable flag is -c).
  const propertyP = !sub?.startsWith('show-') || sub === 'show-linkprop';
  const { opts, rest } = propertyP
    ? getopt(args, ['o', 'l', 'm', 'v', 'p'], ['t', 'c', 'f'])
    : getopt(args, ['o', 'l'], ['p', 's', 'P', 'L']);
  const doc = readState('net', initNet);
  const filter = (map) =>
    rest[0] ? (map[rest[0]] ? [rest[0]] : fail(`invalid link name '${rest[0]}'`)) : Object.keys(map);
  const parsable = { p: sub === 'show-linkprop' ? !!opts.c : !!opts.p };
  switch (sub) {
    case 'show-vnic':
      return show(
        filter(doc.vnics).map((n) => ({
          LINK: n,
          OVER: doc.vnics[n].over,
          SPEED: '1000',
          MACADDRESS: doc.vnics[n].mac,
          MACADDRTYPE: doc.vnics[n].mactype,
          VID: String(doc.vnics[n].vid),
          ZONE: doc.vnics[n].zone ?? '--',
        })),
        columns(opts, ['LINK', 'OVER', 'SPEED', 'MACADDRESS', 'MACADDRTYPE', 'VID']),
        parsable,
      );
    case 'show-vlan':
      return show(
        filter(doc.vlans).map((n) => ({
          LINK: n,
          VID: String(doc.vlans[n].vid),
          OVER: doc.vlans[n].over,
          FLAGS: '-----',
        })),
        columns(opts, ['LINK', 'VID', 'OVER', 'FLAGS']),
        parsable,
      );
    case 'show-etherstub':
      return show(
        filter(doc.etherstubs).map((n) => ({ LINK: n })),
        columns(opts, ['LINK']),
        parsable,
      );
    case 'show-aggr':
      return show(
        filter(doc.aggrs).map((n) => ({
          LINK: n,
          POLICY: doc.aggrs[n].policy,
          ADDRPOLICY: doc.aggrs[n].addrpolicy,
          LACPACTIVITY: doc.aggrs[n].lacpactivity,
          LACPTIMER: doc.aggrs[n].lacptimer,
          FLAGS: '-----',
        })),
        columns(opts, ['LINK', 'POLICY', 'ADDRPOLICY', 'LACPACTIVITY', 'LACPTIMER', 'FLAGS']),
        parsable,
      );
    case 'show-bridge': {
      if (opts.l) {
        const b = doc.bridges[opts.l[0]] ?? fail(`invalid bridge name '${opts.l[0]}'`);
        return show(
          b.links.map((l) => ({ LINK: l })),
          ['LINK'],
          parsable,
        );
      }
      return show(
        filter(doc.bridges).map((n) => ({
          BRIDGE: n,
          ADDRESS: `32768/0:c:29:3a:4b:5c`,
          PRIORITY: '32768',
          DESROOT: '32768/0:c:29:3a:4b:5c',
        })),
        columns(opts, ['BRIDGE', 'ADDRESS', 'PRIORITY', 'DESROOT']),
        parsable,
      );
    }
    case 'show-link': {
      const links = allLinks(doc);
      if (opts.s)
        return show(
          filter(links).map((n) => ({
            LINK: n,
            IPACKETS: '1204',
            RBYTES: '884736',
            IERRORS: '0',
            OPACKETS: '977',
            OBYTES: '412160',
            OERRORS: '0',
          })),
          columns(opts, ['LINK', 'IPACKETS', 'RBYTES', 'IERRORS', 'OPACKETS', 'OBYTES', 'OERRORS']),
          parsable,
        );
      const cls = (n) =>
        doc.phys[n] ? 'phys' : doc.vnics[n] ? 'vnic' : doc.vlans[n] ? 'vlan' : doc.etherstubs[n] ? 'etherstub' : 'aggr';
      return show(
        filter(links).map((n) => ({
          LINK: n,
          CLASS: cls(n),
          MTU: '1500',
          STATE: 'up',
          OVER: links[n].over ?? (links[n].links ? links[n].links.join(' ') : '--'),
        })),
        columns(opts, ['LINK', 'CLASS', 'MTU', 'STATE', 'OVER']),
        parsable,
      );
    }
    case 'show-linkprop': {
      const link = rest[0] ?? fail('link name required', 2);
      needLink(doc, link);
      const wanted = opts.p ? opts.p[0].split(',') : Object.keys(LINK_PROPS);
      return show(
        wanted.map((p) => ({
          LINK: link,
          PROPERTY: p,
          PERM: 'rw',
          VALUE: doc.props[link]?.[p] ?? LINK_PROPS[p] ?? fail(`invalid link property '${p}'`),
          DEFAULT: LINK_PROPS[p],
          POSSIBLE: '--',
        })),
        columns(opts, ['LINK', 'PROPERTY', 'PERM', 'VALUE', 'DEFAULT', 'POSSIBLE']),
        parsable,
      );
    }
  }
  return void withState('net', initNet, (d) => {
    const name = rest[0];
    switch (sub) {
      case 'create-vnic': {
        checkNew(d, name);
        const over = opts.l?.[0] ?? fail('link required (-l)', 2);
        if (!d.phys[over] && !d.etherstubs[over] && !d.aggrs[over]) fail(`invalid link name '${over}'`);
        const m = opts.m?.[0] ?? 'random';
        const mac = m === 'random' || m === 'auto' ? `2:8:20:${(d.macSeq++).toString(16)}:a4:f3` : m;
        d.vnics[name] = {
          over,
          mac,
          mactype: m === 'random' || m === 'auto' ? 'random' : 'fixed',
          vid: Number(opts.v?.[0] ?? 0),
          zone: null,
        };
        d.props[name] = parseProps(opts.p);
        return;
      }
      case 'delete-vnic':
        if (!d.vnics[name]) fail(`invalid link name '${name}'`);
        delete d.vnics[name];
        return;
      case 'create-vlan':
        checkNew(d, name);
        if (!d.phys[opts.l?.[0]] && !d.aggrs[opts.l?.[0]]) fail(`invalid link name '${opts.l?.[0]}'`);
        d.vlans[name] = { over: opts.l[0], vid: Number(opts.v?.[0]) };
        return;
      case 'delete-vlan':
        if (!d.vlans[name]) fail(`invalid link name '${name}'`);
        delete d.vlans[name];
        return;
      case 'create-etherstub':
        checkNew(d, name);
        d.etherstubs[name] = {};
        return;
      case 'delete-etherstub':
        if (!d.etherstubs[name]) fail(`invalid link name '${name}'`);
        if (Object.values(d.vnics).some((v) => v.over === name)) fail('link busy');
        delete d.etherstubs[name];
        return;
      case 'create-bridge':
        if (d.bridges[name]) fail('object already exists');
        d.bridges[name] = { links: [] };
        for (const l of opts.l ?? []) addToBridge(d, name, l);
        return;
      case 'add-bridge':
        for (const l of opts.l ?? fail('link required (-l)', 2)) addToBridge(d, name, l);
        return;
      case 'remove-bridge':
        for (const l of opts.l ?? fail('link required (-l)', 2)) {
          const b = d.bridges[name] ?? fail(`invalid bridge name '${name}'`);
          if (!b.links.includes(l)) fail(`link '${l}' is not on bridge '${name}'`);
          b.links = b.links.filter((x) => x !== l);
        }
        return;
      case 'delete-bridge':
        if (!d.bridges[name]) fail(`invalid bridge name '${name}'`);
        if (d.bridges[name].links.length > 0) fail('bridge is in use');
        delete d.bridges[name];
        return;
      case 'set-linkprop':
        needLink(d, name);
        Object.assign((d.props[name] ??= {}), parseProps(opts.p));
        return;
      case 'reset-linkprop':
        needLink(d, name);
        for (const p of (opts.p?.[0] ?? '').split(',').filter(Boolean)) delete d.props[name]?.[p];
        return;
      default:
        fail(`unknown subcommand '${sub}'`, 2);
    }
  });
}

function addToBridge(d, bridge, link) {
  const b = d.bridges[bridge] ?? fail(`invalid bridge name '${bridge}'`);
  needLink(d, link);
  if (Object.values(d.bridges).some((x) => x.links.includes(link))) fail(`link '${link}' is already on a bridge`);
  b.links.push(link);
}

function ipadm(argv) {
  const [sub, ...args] = argv;
  const { opts, rest } = getopt(args, ['o', 'T', 'a'], ['p', 't']);
  if (sub === 'show-addr') {
    const doc = readState('net', initNet);
    const names = rest[0]
      ? doc.addrs[rest[0]]
        ? [rest[0]]
        : fail(`Could not get address: Address object not found`)
      : Object.keys(doc.addrs);
    return show(
      names.map((n) => ({ ADDROBJ: n, TYPE: doc.addrs[n].type, STATE: doc.addrs[n].state, ADDR: doc.addrs[n].addr })),
      columns(opts, ['ADDROBJ', 'TYPE', 'STATE', 'ADDR']),
      opts,
    );
  }
  return void withState('net', initNet, (d) => {
    const obj = rest[0];
    if (sub === 'create-addr') {
      const [iface] = obj.split('/');
      if (!allLinks(d)[iface] && iface !== 'lo0') fail(`Could not create address: Interface does not exist`);
      if (d.addrs[obj]) fail('Could not create address: Address object already exists');
      if ((opts.T?.[0] ?? 'static') !== 'static') fail('only -T static is simulated', 2);
      d.addrs[obj] = {
        type: 'static',
        state: 'ok',
        addr: (opts.a?.[0] ?? fail('address required (-a)', 2)).replace(/^local=/, ''),
      };
    } else if (sub === 'delete-addr') {
      if (!d.addrs[obj]) fail('Could not delete address: Address object not found');
      delete d.addrs[obj];
    } else fail(`unknown subcommand '${sub}'`, 2);
  });
}

function netstat(argv) {
  const { opts } = getopt(argv, ['f'], ['r', 'n', 'v']);
  if (!opts.r) fail('only -r is simulated', 2);
  const doc = readState('net', initNet);
  const v4 = Object.entries(doc.addrs).filter(([, a]) => a.addr.includes('.'));
  let out =
    '\nRouting Table: IPv4\n  Destination           Gateway           Flags  Ref     Use     Interface\n-------------------- -------------------- ----- ----- ---------- ---------\n';
  out += `${'default'.padEnd(20)} ${'192.168.1.1'.padEnd(20)} UG        2      11045\n`;
  for (const [obj, a] of v4) {
    const [ip, prefix] = a.addr.split('/');
    const net = prefix === '8' ? ip : ip.split('.').slice(0, 3).concat('0').join('.');
    out += `${net.padEnd(20)} ${ip.padEnd(20)} ${prefix === '8' ? 'UH' : 'U '}        2        104 ${obj.split('/')[0]}\n`;
  }
  return opts.f?.[0] === 'inet6'
    ? '\nRouting Table: IPv6\n  Destination/Mask            Gateway                   Flags Ref   Use    If\n--------------------------- --------------------------- ----- --- ------- -----\n::1                         ::1                         UH      2       0 lo0\n'
    : out;
}

const MAINS = { dladm, ipadm, netstat };
module.exports = { main: (tool) => runTool(tool, MAINS[tool]) };
