/* global module */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS scripts run by node directly */
'use strict';
// zonecfg's command language (the subset zones use: create/set/add/select/remove/clear/end/
// verify/commit/delete) and its `info`/`export` renderings.
const { fail } = require('./sim-state.cjs');

const GLOBALS = [
  'zonename',
  'zonepath',
  'brand',
  'autoboot',
  'bootargs',
  'pool',
  'limitpriv',
  'scheduling-class',
  'ip-type',
  'hostid',
  'fs-allowed',
];
const RESOURCES = [
  'net',
  'device',
  'attr',
  'fs',
  'dataset',
  'rctl',
  'capped-memory',
  'capped-cpu',
  'dedicated-cpu',
  'admin',
];
const UNSET_SHOWN = { net: ['address', 'allowed-address', 'defrouter'] };

/** Splits a command script into commands: newlines and ';' outside double quotes. */
function splitCommands(text) {
  const out = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === '\n' || ch === ';')) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out.filter((c) => !c.startsWith('#'));
}

function unquote(v) {
  return v.replace(/^"(.*)"$/, '$1');
}

function newZone(name) {
  return {
    name,
    props: { zonename: name, zonepath: '', brand: 'lipkg', autoboot: 'false', 'ip-type': 'exclusive' },
    resources: {},
    state: 'configured',
    uuid: null,
    id: null,
  };
}

function matches(resource, selector) {
  const m = /^([a-z-]+)=(.*)$/.exec(selector ?? '');
  return !m || resource[m[1]] === unquote(m[2]);
}

/** Applies commands to `zones` (the whole map); returns the text of any info/export asked for. */
function applyCommands(zones, name, commands) {
  let zone = zones[name];
  let scope = null;
  let out = '';
  for (const command of commands) {
    const [verb, ...args] = command.split(/\s+/);
    const needZone = () => zone ?? fail(`${name}: No such zone configured`);
    switch (verb) {
      case 'create': {
        if (zone && !args.includes('-F')) fail(`${name}: zone already exists; use create -F to overwrite`);
        zone = zones[name] = newZone(name);
        if (args.includes('-b'))
          zone.props = { zonename: name, zonepath: '', brand: 'lipkg', autoboot: 'false', 'ip-type': 'exclusive' };
        break;
      }
      case 'set': {
        needZone();
        const m = /^([a-z][a-z0-9-]*)=(.*)$/.exec(command.slice(4).trim());
        if (!m) fail(`syntax error: ${command}`);
        const value = unquote(m[2]);
        if (scope) scope.resource[m[1]] = value;
        else {
          if (!GLOBALS.includes(m[1])) fail(`unknown property "${m[1]}"`);
          if ((m[1] === 'brand' || m[1] === 'zonepath') && zone.state !== 'configured')
            fail(`cannot change ${m[1]}: zone is ${zone.state}`);
          zone.props[m[1]] = value;
        }
        break;
      }
      case 'add': {
        needZone();
        if (scope) {
          // A list property inside a resource (`add options ro`), shown as `options: [ro,nodevices]`.
          const list = (scope.resource[args[0]] ?? '[]').slice(1, -1).split(',').filter(Boolean);
          scope.resource[args[0]] = `[${[...list, args[1]].join(',')}]`;
          break;
        }
        if (!RESOURCES.includes(args[0])) fail(`unknown resource type "${args[0]}"`);
        scope = { type: args[0], resource: {} };
        break;
      }
      case 'select': {
        needZone();
        const found = (zone.resources[args[0]] ?? []).find((r) => matches(r, args[1]));
        if (!found) fail(`${args[0]}: No such resource with that id`);
        scope = { type: args[0], resource: found, existing: true };
        break;
      }
      case 'remove': {
        needZone();
        const type = args[0] === '-F' ? args[1] : args[0];
        const selector = args[0] === '-F' ? undefined : args[1];
        const list = zone.resources[type] ?? [];
        const kept = list.filter((r) => !matches(r, selector));
        if (kept.length === list.length) fail(`${type}: No such resource with that id`);
        zone.resources[type] = kept;
        break;
      }
      case 'clear':
        needZone();
        if (scope) delete scope.resource[args[0]];
        else zone.props[args[0]] = '';
        break;
      case 'end':
        if (!scope) fail('end: not in resource scope');
        if (!scope.existing) (zone.resources[scope.type] ??= []).push(scope.resource);
        scope = null;
        break;
      case 'verify':
      case 'commit':
      case 'exit':
        needZone();
        if (verb !== 'exit' && !zone.props.zonepath) fail('zonepath cannot be empty');
        break;
      case 'info':
        out += renderInfo(needZone());
        break;
      case 'export':
        out += renderExport(needZone());
        break;
      case 'delete':
        needZone();
        if (!args.includes('-F')) fail('delete: use -F to delete without asking');
        if (zone.state !== 'configured') fail(`Zone ${name} is ${zone.state}; uninstall it first`);
        delete zones[name];
        zone = undefined;
        break;
      default:
        fail(`${verb}: unknown command`);
    }
  }
  if (scope) fail('resource scope not closed with "end"');
  return out;
}

function renderInfo(zone) {
  let out = '';
  for (const key of GLOBALS) out += `${key}: ${zone.props[key] ?? ''}\n`;
  for (const [type, list] of Object.entries(zone.resources)) {
    for (const r of list) {
      out += `${type}:\n`;
      for (const unset of UNSET_SHOWN[type] ?? []) if (!(unset in r)) out += `\t${unset} not specified\n`;
      for (const [k, v] of Object.entries(r)) out += `\t${k}: ${v}\n`;
    }
  }
  return out;
}

function renderExport(zone) {
  let out = 'create -b\n';
  for (const key of GLOBALS) if (key !== 'zonename' && zone.props[key]) out += `set ${key}=${zone.props[key]}\n`;
  for (const [type, list] of Object.entries(zone.resources)) {
    for (const r of list) {
      out += `add ${type}\n`;
      for (const [k, v] of Object.entries(r)) out += `set ${k}=${/[\s;]/.test(v) ? `"${v}"` : v}\n`;
      out += 'end\n';
    }
  }
  return out;
}

const SINGLE_RESOURCES = new Set(['capped-memory', 'capped-cpu', 'dedicated-cpu']);
// The bhyve attrs zadm shows as properties (its Bhyve schema); other attrs stay in "attr".
const BHYVE_ATTRS = new Set([
  'acpi',
  'bootorder',
  'bootrom',
  'cdrom',
  'cloud-init',
  'console',
  'diskif',
  'extra',
  'hostbridge',
  'netif',
  'ram',
  'rng',
  'type',
  'uefivars',
  'vcpus',
  'vga',
  'vnc',
  'xhci',
]);

/**
 * zadm show: the configuration as zadm prints it (Perl JSON, canonical and pretty: sorted keys,
 * 3-space indent, `"key" : value`); globals as strings (unset ones ""), a single resource as a
 * hash, repeated ones as arrays, bhyve attrs lifted to properties.
 */
function renderZadm(zone) {
  const doc = {};
  for (const key of GLOBALS) doc[key] = zone.props[key] ?? '';
  for (const [type, list] of Object.entries(zone.resources)) {
    let rest = list;
    if (type === 'attr' && zone.props.brand === 'bhyve') {
      for (const a of list) if (BHYVE_ATTRS.has(a.name)) doc[a.name] = a.value ?? '';
      rest = list.filter((a) => !BHYVE_ATTRS.has(a.name));
    }
    if (rest.length === 0) continue;
    doc[type] = SINGLE_RESOURCES.has(type) ? { ...rest[0] } : rest.map((r) => ({ ...r }));
  }
  return perlPretty(doc, '') + '\n';
}

function perlPretty(value, indent) {
  const inner = indent + '   ';
  if (Array.isArray(value))
    return value.length === 0 ? '[]' : `[\n${value.map((v) => inner + perlPretty(v, inner)).join(',\n')}\n${indent}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return '{}';
    return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)} : ${perlPretty(value[k], inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

module.exports = { splitCommands, applyCommands, renderInfo, renderExport, renderZadm };
