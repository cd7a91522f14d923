/* global module */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS scripts run by node directly */
'use strict';
// Simulated Parallels Desktop command line tools (prlctl, prlsrvctl) for the parallels driver's
// tests. VMs live in <state>/parallels.json; each VM's bundle is a real directory
// (<state>/Parallels/<name>.pvm) whose guest/ folder stands for the guest's file system: `prlctl
// exec` and `prlctl enter` run host processes there, registered as the guest's processes, so that
// stop (ACPI: SIGTERM, then wait), stop --kill, pause/suspend (SIGSTOP) and resume (SIGCONT) act
// on them. Every state change is also appended to <state>/prl-events.log in the shape of
// `prlctl monitor-events --json`, which that command tails.
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { stateDir, withState, readState, fail, runTool, sleepMs } = require('./sim-state.cjs');

const init = () => ({ vms: {} });
const vmRoot = () => path.join(stateDir(), 'Parallels');
const runDir = (id) => path.join(stateDir(), 'prl-run', id);
const eventsFile = () => path.join(stateDir(), 'prl-events.log');
const NOT_FOUND = 'Failed to get VM config: The virtual machine could not be found.';

function timestamp() {
  return new Date().toISOString().replace('T', ' ').slice(0, 19);
}

function event(id, name, info) {
  const line = { Timestamp: timestamp(), 'VM ID': id, 'Event name': name };
  if (info) line['Additional info'] = info;
  fs.appendFileSync(eventsFile(), JSON.stringify(line) + '\n');
}

function setState(vm, state) {
  if (vm.state === state) return;
  vm.state = state;
  event(vm.id, 'vm_state_changed', { 'Vm state name': state });
}

/** A VM by name, uuid or {uuid}, as prlctl accepts them. */
function find(doc, ref) {
  const bare = String(ref).replace(/^\{|\}$/g, '');
  return Object.values(doc.vms).find((v) => v.id === bare || v.name === ref) ?? null;
}

function must(doc, ref) {
  const vm = find(doc, ref);
  if (!vm) fail(NOT_FOUND, 255);
  return vm;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The guest's processes (exec and enter sessions), each the leader of its own group. */
function guestPids(id) {
  const dir = runDir(id);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map(Number)
    .filter((pid) => {
      if (alive(pid)) return true;
      fs.rmSync(path.join(dir, String(pid)), { force: true });
      return false;
    });
}

function signalGuest(id, signal) {
  for (const pid of guestPids(id)) {
    try {
      process.kill(-pid, signal);
    } catch {
      // Gone meanwhile.
    }
  }
}

function waitGuestGone(id, ms) {
  const deadline = Date.now() + ms;
  while (guestPids(id).length > 0 && Date.now() < deadline) sleepMs(20);
  return guestPids(id).length === 0;
}

function newVm(name, home, from) {
  return {
    id: randomUUID(),
    name,
    description: from?.description ?? '',
    os: from?.os ?? 'ubuntu',
    template: false,
    state: 'stopped',
    home,
    cpus: from?.cpus ?? 2,
    memoryMb: from?.memoryMb ?? 2048,
    diskMb: from?.diskMb ?? 65536,
    net: from?.net ?? { type: 'shared', mac: macAddress() },
    bootOrder: from?.bootOrder ?? 'hdd0 cdrom0 net0',
    toolsState: from?.toolsState ?? 'installed',
    ip: from?.ip ?? null,
    startedAt: null,
    snapshots: {},
    currentSnapshot: null,
    linkedTo: null,
  };
}

function macAddress() {
  return '001C42' + randomUUID().replace(/-/g, '').slice(0, 6).toUpperCase();
}

function guestDir(vm) {
  return path.join(vm.home, 'guest');
}

/**
 * A started guest gets its address after HOSTPLANE_SIM_PRL_IP_DELAY_MS (default 0), as a real
 * guest does once it has booted and its DHCP lease arrived.
 */
function ipDelayMs() {
  const ms = Number(process.env.HOSTPLANE_SIM_PRL_IP_DELAY_MS ?? 0);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/** Parallels learns a guest's addresses from its guest tools: none without them. */
function shownIp(vm) {
  const ready = vm.state === 'running' && vm.toolsState === 'installed' && (vm.ipReadyAt ?? 0) <= Date.now();
  return ready && vm.ip ? vm.ip : null;
}

/** One entry of `prlctl list -i --json` (the fields Parallels Desktop 19/20 prints, trimmed of UI preferences). */
function info(vm) {
  const running = vm.state === 'running';
  return {
    ID: vm.id,
    Name: vm.name,
    Description: vm.description,
    Type: 'VM',
    State: vm.state,
    OS: vm.os,
    Template: vm.template ? 'yes' : 'no',
    Uptime: running && vm.startedAt ? String(Math.floor((Date.now() - vm.startedAt) / 1000)) : '0',
    'Home path': path.join(vm.home, 'config.pvs'),
    Home: vm.home + '/',
    'Restore Image': '',
    GuestTools:
      vm.toolsState === 'not installed'
        ? { state: 'not installed' }
        : { state: vm.toolsState, version: '20.1.1-55740' },
    'Startup and Shutdown': {
      Autostart: 'off',
      'Autostart delay': 0,
      Autostop: 'suspend',
      'On shutdown': 'Close window',
    },
    'Boot order': vm.bootOrder,
    'BIOS type': 'efi-arm64',
    'EFI Secure boot': 'off',
    Hardware: {
      cpu: { cpus: vm.cpus, auto: 'off', 'VT-x': true, hotplug: false, accl: 'high', mode: '64', type: 'arm' },
      memory: { size: `${vm.memoryMb}Mb`, auto: 'off', hotplug: false },
      video: { 'adapter-type': 'parallels', size: '0Mb', '3d-acceleration': 'highest', 'vertical-sync': 'on' },
      memory_quota: { auto: 'on' },
      hdd0: {
        enabled: true,
        port: 'sata:0',
        image: path.join(vm.home, 'harddisk.hdd'),
        type: 'expanded',
        size: `${vm.diskMb}Mb`,
        'online-compact': 'on',
      },
      cdrom0: { enabled: true, port: 'sata:1', image: '', state: 'disconnected' },
      usb: { enabled: true },
      net0: { enabled: true, type: vm.net.type, mac: vm.net.mac, card: 'virtio' },
      sound0: { enabled: true, output: 'Default', mixer: 'Default' },
    },
    'Host Shared Folders': { enabled: false },
    Network: {
      Conditioned: 'off',
      Inbound: { Bandwidth: '0', 'Packet Loss': '0', Delay: '0' },
      Outbound: { Bandwidth: '0', 'Packet Loss': '0', Delay: '0' },
      ipAddresses: shownIp(vm) ? [{ type: 'ipv4', ip: vm.ip }] : [],
    },
  };
}

function opt(argv, names, takesValue) {
  for (let i = 0; i < argv.length; i++) {
    if (!names.includes(argv[i])) continue;
    if (!takesValue) return true;
    if (argv[i + 1] === undefined) fail(`The ${argv[i]} option requires a value.`, 2);
    return argv[i + 1];
  }
  return takesValue ? undefined : false;
}

function cmdList(argv) {
  const ref = argv.find((a) => !a.startsWith('-'));
  const all = opt(argv, ['-a', '--all']);
  const json = opt(argv, ['-j', '--json']);
  const detailed = opt(argv, ['-i', '--info']);
  const doc = readState('parallels', init);
  let vms = Object.values(doc.vms);
  if (ref) vms = [must(doc, ref)];
  else if (!all) vms = vms.filter((v) => v.state !== 'stopped');
  if (detailed) {
    if (json) return JSON.stringify(vms.map(info), null, 4) + '\n';
    return vms.map((v) => `ID: {${v.id}}\nName: ${v.name}\nState: ${v.state}\n`).join('\n');
  }
  const rows = vms.map((v) => ({
    uuid: `{${v.id}}`,
    status: v.state,
    ip_configured: shownIp(v) ?? '-',
    name: v.name,
  }));
  if (json) return JSON.stringify(rows, null, 4) + '\n';
  return (
    'UUID                                    STATUS       IP_ADDR         NAME\n' +
    rows.map((r) => `${r.uuid} ${r.status.padEnd(12)} ${r.ip_configured.padEnd(15)} ${r.name}\n`).join('')
  );
}

function mutate(ref, fn) {
  return withState('parallels', init, (doc) => fn(must(doc, ref), doc));
}

function cmdCreate([name, ...rest]) {
  if (!name || name.startsWith('-')) fail('Usage: prlctl create <vm_name> [-o <ostype> | -d <distribution>]', 2);
  return withState('parallels', init, (doc) => {
    if (find(doc, name)) fail(`The virtual machine "${name}" already exists.`, 255);
    const home = path.join(vmRoot(), `${name}.pvm`);
    const vm = newVm(name, home);
    vm.os = opt(rest, ['-d', '--distribution'], true) ?? opt(rest, ['-o', '--ostype'], true) ?? 'ubuntu';
    fs.mkdirSync(guestDir(vm), { recursive: true });
    doc.vms[vm.id] = vm;
    event(vm.id, 'vm_added');
    return `Creating the virtual machine...\nThe VM has been successfully created.\n`;
  });
}

function copyBundle(from, to) {
  fs.mkdirSync(to, { recursive: true });
  fs.cpSync(guestDir(from), path.join(to, 'guest'), { recursive: true });
}

function cmdClone([ref, ...rest]) {
  const name = opt(rest, ['--name'], true);
  if (!name) fail('The --name option is required.', 2);
  const linked = opt(rest, ['--linked']);
  const template = opt(rest, ['--template']);
  const dst = opt(rest, ['--dst'], true);
  return withState('parallels', init, (doc) => {
    const src = must(doc, ref);
    if (src.state !== 'stopped' && src.state !== 'suspended' && !linked)
      fail('Unable to clone the virtual machine: the virtual machine is running.', 255);
    if (find(doc, name)) fail(`The virtual machine "${name}" already exists.`, 255);
    const home = path.join(dst ?? vmRoot(), `${name}.pvm`);
    const vm = newVm(name, home, src);
    vm.net = { type: src.net.type, mac: macAddress() };
    // A new MAC: the clone's guest gets its own DHCP lease when it starts.
    vm.ip = null;
    vm.template = !!template;
    vm.linkedTo = linked ? src.id : null;
    copyBundle(src, home);
    doc.vms[vm.id] = vm;
    event(vm.id, 'vm_added');
    return `Clone the ${src.name} VM to the VM ${name}...\nThe VM has been successfully cloned.\n`;
  });
}

function nextIp(doc) {
  const used = new Set(Object.values(doc.vms).map((v) => v.ip));
  for (let i = 2; i < 250; i++) if (!used.has(`10.211.55.${i}`)) return `10.211.55.${i}`;
  return '10.211.55.254';
}

function cmdStart([ref]) {
  return mutate(ref, (vm, doc) => {
    if (vm.state === 'running') fail('The VM is already running.', 255);
    if (vm.state === 'paused' || vm.state === 'suspended') return cmdResumeIn(vm);
    vm.ip = vm.ip ?? nextIp(doc);
    vm.startedAt = Date.now();
    vm.ipReadyAt = Date.now() + ipDelayMs();
    setState(vm, 'running');
    return `Starting the VM...\nVM ${vm.name} started.\n`;
  });
}

function cmdResumeIn(vm) {
  signalGuest(vm.id, 'SIGCONT');
  setState(vm, 'running');
  return `Resuming the VM...\nThe VM has been successfully resumed.\n`;
}

function cmdStop([ref, ...rest]) {
  const kill = opt(rest, ['--kill']);
  const dropState = opt(rest, ['--drop-state']);
  const doc = readState('parallels', init);
  const vm = must(doc, ref);
  if (vm.state === 'stopped') fail('The VM is not running.', 255);
  if (vm.state === 'suspended' && !dropState) fail('The VM is suspended: use --drop-state to stop it.', 255);
  if (kill || dropState) {
    signalGuest(vm.id, 'SIGKILL');
    signalGuest(vm.id, 'SIGCONT');
    waitGuestGone(vm.id, 5000);
  } else {
    // ACPI shutdown: the guest's init sends SIGTERM and waits for its processes, however long they take.
    signalGuest(vm.id, 'SIGTERM');
    signalGuest(vm.id, 'SIGCONT');
    waitGuestGone(vm.id, 3_600_000);
  }
  mutate(ref, (v) => {
    v.startedAt = null;
    setState(v, 'stopped');
  });
  return `Stopping the VM...\nVM ${vm.name} stopped.\n`;
}

function pauseLike(ref, state, verb) {
  return mutate(ref, (vm) => {
    if (vm.state !== 'running') fail('The VM is not running.', 255);
    signalGuest(vm.id, 'SIGSTOP');
    setState(vm, state);
    return `${verb} the VM...\nThe VM has been successfully ${state}.\n`;
  });
}

function cmdResume([ref]) {
  return mutate(ref, (vm) => {
    if (vm.state !== 'paused' && vm.state !== 'suspended') fail('The VM is not paused or suspended.', 255);
    return cmdResumeIn(vm);
  });
}

function cmdReset([ref]) {
  const vm = must(readState('parallels', init), ref);
  if (vm.state !== 'running') fail('The VM is not running.', 255);
  signalGuest(vm.id, 'SIGKILL');
  waitGuestGone(vm.id, 5000);
  return mutate(ref, (v) => {
    v.startedAt = Date.now();
    return `Resetting the VM...\nThe VM has been successfully reset.\n`;
  });
}

function cmdRestart([ref]) {
  const vm = must(readState('parallels', init), ref);
  if (vm.state !== 'running') fail('The VM is not running.', 255);
  signalGuest(vm.id, 'SIGTERM');
  waitGuestGone(vm.id, 60_000);
  return mutate(ref, (v) => {
    setState(v, 'stopped');
    v.startedAt = Date.now();
    setState(v, 'running');
    return `Restarting the VM...\nThe VM has been successfully restarted.\n`;
  });
}

function sizeMb(v) {
  const m = /^(\d+)([MG]?)$/i.exec(String(v));
  if (!m) fail(`Invalid size: ${v}`, 2);
  return Number(m[1]) * (m[2].toUpperCase() === 'G' ? 1024 : 1);
}

function cmdSet([ref, ...rest]) {
  return mutate(ref, (vm, doc) => {
    const running = vm.state !== 'stopped';
    for (let i = 0; i < rest.length; i++) {
      const flag = rest[i];
      const value = () => {
        if (rest[i + 1] === undefined) fail(`The ${flag} option requires a value.`, 2);
        return rest[++i];
      };
      if (flag === '--cpus') {
        if (running) fail('Unable to commit VM configuration: the VM is running.', 255);
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) fail('Invalid number of CPUs.', 2);
        vm.cpus = n;
      } else if (flag === '--memsize') {
        if (running) fail('Unable to commit VM configuration: the VM is running.', 255);
        vm.memoryMb = sizeMb(value());
      } else if (flag === '--description') vm.description = value();
      else if (flag === '--name') {
        const name = value();
        if (find(doc, name) && find(doc, name) !== vm) fail(`The virtual machine "${name}" already exists.`, 255);
        vm.name = name;
      } else if (flag === '--device-bootorder') vm.bootOrder = value();
      else if (flag === '--device-set') {
        const dev = value();
        for (; i + 1 < rest.length && rest[i + 1].startsWith('--') && rest[i + 1] !== '--device-set';) {
          const f = rest[++i];
          const v = rest[++i];
          if (v === undefined) fail(`The ${f} option requires a value.`, 2);
          if (dev === 'net0' && f === '--type') vm.net.type = v;
          else if (dev === 'net0' && f === '--mac') vm.net.mac = v === 'auto' ? macAddress() : v;
          // The guest's address (the simulated guest has one: a new one replaces it).
          else if (dev === 'net0' && f === '--ipadd') vm.ip = v.replace(/\/\d+$/, '');
          else if (dev === 'hdd0' && f === '--size') vm.diskMb = Math.max(vm.diskMb, sizeMb(v));
          else fail(`Unknown option ${f} for device ${dev}.`, 2);
        }
      } else fail(`Unrecognized option: ${flag}`, 2);
    }
    event(vm.id, 'vm_config_changed');
    return `Configure the VM...\nThe VM has been successfully configured.\n`;
  });
}

function cmdRegister([file, ...rest]) {
  if (!file) fail('Usage: prlctl register <path> [--uuid <uuid>] [--regenerate-src-uuid] [--force]', 2);
  const bundle = file.replace(/\/config\.pvs$/, '').replace(/\/$/, '');
  if (!fs.existsSync(path.join(bundle, 'guest'))) fail(`Failed to register the VM: ${file} is not a VM bundle.`, 255);
  const meta = path.join(bundle, 'vm.json');
  return withState('parallels', init, (doc) => {
    const saved = fs.existsSync(meta) ? JSON.parse(fs.readFileSync(meta, 'utf8')) : null;
    const vm = saved ?? newVm(path.basename(bundle, '.pvm'), bundle);
    vm.home = bundle;
    vm.state = 'stopped';
    const uuid = opt(rest, ['--uuid'], true);
    if (uuid) vm.id = uuid.replace(/^\{|\}$/g, '');
    if (opt(rest, ['--regenerate-src-uuid'])) vm.id = randomUUID();
    if (doc.vms[vm.id] && !opt(rest, ['--force'])) fail(`The VM with UUID {${vm.id}} is already registered.`, 255);
    doc.vms[vm.id] = vm;
    fs.rmSync(meta, { force: true });
    event(vm.id, 'vm_added');
    return `Register the VM...\nThe VM has been successfully registered.\n`;
  });
}

function cmdUnregister([ref]) {
  return withState('parallels', init, (doc) => {
    const vm = must(doc, ref);
    if (vm.state !== 'stopped') fail('Unable to unregister the VM: the VM is running.', 255);
    fs.writeFileSync(path.join(vm.home, 'vm.json'), JSON.stringify(vm));
    delete doc.vms[vm.id];
    event(vm.id, 'vm_unregistered');
    return `Unregister the VM...\nThe VM has been successfully unregistered.\n`;
  });
}

function cmdDelete([ref]) {
  return withState('parallels', init, (doc) => {
    const vm = must(doc, ref);
    if (vm.state !== 'stopped') fail('Unable to delete the VM: the VM is running.', 255);
    fs.rmSync(vm.home, { recursive: true, force: true });
    fs.rmSync(runDir(vm.id), { recursive: true, force: true });
    delete doc.vms[vm.id];
    event(vm.id, 'vm_deleted');
    return `Removing the VM...\nThe VM has been successfully removed.\n`;
  });
}

/** Runs `argv` as a guest process (its own group, registered under the VM) and exits with its status. */
function runInGuest(vm, argv, interactive) {
  fs.mkdirSync(runDir(vm.id), { recursive: true });
  const [file, ...args] = argv;
  const child = spawn(file, args, {
    cwd: guestDir(vm),
    stdio: 'inherit',
    detached: !interactive,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/root', TERM: process.env.TERM ?? 'xterm' },
  });
  const mark = path.join(runDir(vm.id), String(child.pid));
  fs.writeFileSync(mark, '');
  child.on('error', (err) => {
    fs.rmSync(mark, { force: true });
    process.stderr.write(`prlctl: ${file}: ${err.code}\n`);
    process.exit(127);
  });
  // prlctl ended by a signal (the agent's timeout or output cap) ends the guest command too.
  if (!interactive)
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'])
      process.on(sig, () => {
        try {
          process.kill(-child.pid, sig);
        } catch {
          // Gone meanwhile.
        }
      });
  child.on('exit', (code, signal) => {
    fs.rmSync(mark, { force: true });
    process.exit(code ?? 128 + (require('node:os').constants.signals[signal] ?? 0));
  });
  return null;
}

function cmdExec([ref, ...rest]) {
  const args = [...rest];
  while (args[0] === '--current-user' || args[0] === '--resolve-paths') args.shift();
  if (args[0] === '--user') args.splice(0, 2);
  if (args[0] === '--password') args.splice(0, 2);
  if (args.length === 0) fail('Usage: prlctl exec <vm> <command> [arg...]', 2);
  const vm = must(readState('parallels', init), ref);
  if (vm.state !== 'running') fail('Failed to exec the command: the virtual machine is not running.', 255);
  if (vm.toolsState !== 'installed') fail('Failed to exec the command: Parallels Tools are not installed.', 255);
  // One argument with blanks is a command line for the guest's shell, as prlctl passes it.
  const argv = args.length === 1 && /\s/.test(args[0]) ? ['/bin/sh', '-c', args[0]] : args;
  return runInGuest(vm, guestPaths(vm, argv), false);
}

/**
 * The simulated guest has no root of its own (its processes are host processes in guest/), so the
 * positional parameters of a `sh -c <script> <name> <params…>` that are absolute paths name files
 * of the guest: they are mapped under guest/ (how the agent's upload script gets its target).
 */
function guestPaths(vm, argv) {
  const shell = /(^|\/)(ba|da|z)?sh$/.test(argv[0] ?? '') && argv[1] === '-c' && argv.length > 4;
  if (!shell) return argv;
  return [...argv.slice(0, 4), ...argv.slice(4).map((a) => (a.startsWith('/') ? path.join(guestDir(vm), a) : a))];
}

/** `prlctl installtools <vm>`: mounts the tools image and runs its installer in the guest. */
function cmdInstallTools([ref]) {
  return mutate(ref, (vm) => {
    if (vm.state !== 'running') fail('Failed to install Parallels Tools: the virtual machine is not running.', 255);
    vm.toolsState = 'installed';
    vm.toolsInstalls = (vm.toolsInstalls ?? 0) + 1;
    return 'Installing Parallels Tools...\nParallels Tools have been successfully installed.\n';
  });
}

function cmdEnter([ref]) {
  const vm = must(readState('parallels', init), ref);
  if (vm.state !== 'running') fail('Failed to enter the VM: the virtual machine is not running.', 255);
  return runInGuest(vm, ['/bin/sh', '-i'], true);
}

function snapshotsTree(vm) {
  const out = {};
  for (const [id, s] of Object.entries(vm.snapshots))
    out[`{${id}}`] = {
      name: s.name,
      date: s.date,
      state: s.state,
      current: vm.currentSnapshot === id,
      parent: s.parent ? `{${s.parent}}` : '',
    };
  return out;
}

function cmdSnapshot([ref, ...rest]) {
  const name = opt(rest, ['-n', '--name'], true) ?? 'Snapshot';
  const description = opt(rest, ['-d', '--description'], true) ?? '';
  return mutate(ref, (vm) => {
    const id = randomUUID();
    const dir = path.join(vm.home, 'Snapshots', id);
    fs.cpSync(guestDir(vm), dir, { recursive: true });
    vm.snapshots[id] = {
      name,
      description,
      date: timestamp(),
      state: vm.state === 'running' ? 'poweron' : vm.state === 'paused' ? 'pause' : 'poweroff',
      parent: vm.currentSnapshot,
    };
    vm.currentSnapshot = id;
    event(vm.id, 'vm_snapshots_tree_changed');
    return `Creating the snapshot...\nThe snapshot with id {${id}} has been successfully created.\n`;
  });
}

function snapshotId(rest) {
  const id = opt(rest, ['-i', '--id'], true);
  if (!id) fail('The --id option is required.', 2);
  return id.replace(/^\{|\}$/g, '');
}

function cmdSnapshotList([ref, ...rest]) {
  const vm = must(readState('parallels', init), ref);
  if (opt(rest, ['-j', '--json'])) return JSON.stringify(snapshotsTree(vm), null, 4) + '\n';
  let out = 'PARENT_SNAPSHOT_ID                      SNAPSHOT_ID\n';
  for (const [id, s] of Object.entries(vm.snapshots))
    out += `${(s.parent ? `{${s.parent}}` : '').padEnd(38)} ${vm.currentSnapshot === id ? '*' : ' '}{${id}}\n`;
  return out;
}

function cmdSnapshotDelete([ref, ...rest]) {
  const id = snapshotId(rest);
  const children = opt(rest, ['-c', '--children']);
  return mutate(ref, (vm) => {
    const s = vm.snapshots[id];
    if (!s) fail(`The snapshot with id {${id}} does not exist.`, 255);
    const doomed = [id];
    for (let i = 0; i < doomed.length; i++)
      for (const [cid, c] of Object.entries(vm.snapshots)) if (c.parent === doomed[i] && children) doomed.push(cid);
    for (const c of Object.values(vm.snapshots)) if (c.parent === id && !children) c.parent = s.parent;
    for (const d of doomed) {
      fs.rmSync(path.join(vm.home, 'Snapshots', d), { recursive: true, force: true });
      delete vm.snapshots[d];
      if (vm.currentSnapshot === d) vm.currentSnapshot = s.parent;
    }
    event(vm.id, 'vm_snapshots_tree_changed');
    return `Deleting the snapshot...\nThe snapshot has been successfully deleted.\n`;
  });
}

function cmdSnapshotSwitch([ref, ...rest]) {
  const id = snapshotId(rest);
  const skipResume = opt(rest, ['--skip-resume']);
  const vm = must(readState('parallels', init), ref);
  if (!vm.snapshots[id]) fail(`The snapshot with id {${id}} does not exist.`, 255);
  signalGuest(vm.id, 'SIGKILL');
  waitGuestGone(vm.id, 5000);
  return mutate(ref, (v) => {
    const s = v.snapshots[id];
    fs.rmSync(guestDir(v), { recursive: true, force: true });
    fs.cpSync(path.join(v.home, 'Snapshots', id), guestDir(v), { recursive: true });
    v.currentSnapshot = id;
    setState(
      v,
      s.state === 'poweron' ? (skipResume ? 'paused' : 'running') : s.state === 'pause' ? 'paused' : 'stopped',
    );
    event(v.id, 'vm_snapshots_tree_changed');
    return `Switch to the snapshot...\nThe VM has been successfully switched.\n`;
  });
}

/** Follows the event log from its current end, one JSON object a line, until killed. */
function cmdMonitorEvents(argv) {
  if (!opt(argv, ['-j', '--json'])) fail('Only the --json form is simulated.', 2);
  const file = eventsFile();
  let offset = fs.existsSync(file) ? fs.statSync(file).size : 0;
  const tick = () => {
    if (fs.existsSync(file)) {
      const size = fs.statSync(file).size;
      if (size > offset) {
        const fd = fs.openSync(file, 'r');
        const buf = Buffer.alloc(size - offset);
        fs.readSync(fd, buf, 0, buf.length, offset);
        fs.closeSync(fd);
        offset = size;
        process.stdout.write(buf);
      }
    }
  };
  setInterval(tick, 50);
  return null;
}

const PRLCTL = {
  list: cmdList,
  create: cmdCreate,
  clone: cmdClone,
  start: cmdStart,
  stop: cmdStop,
  suspend: ([ref]) => pauseLike(ref, 'suspended', 'Suspending'),
  pause: ([ref]) => pauseLike(ref, 'paused', 'Pausing'),
  resume: cmdResume,
  reset: cmdReset,
  restart: cmdRestart,
  set: cmdSet,
  register: cmdRegister,
  unregister: cmdUnregister,
  delete: cmdDelete,
  exec: cmdExec,
  installtools: cmdInstallTools,
  enter: cmdEnter,
  snapshot: cmdSnapshot,
  'snapshot-list': cmdSnapshotList,
  'snapshot-delete': cmdSnapshotDelete,
  'snapshot-switch': cmdSnapshotSwitch,
  'monitor-events': cmdMonitorEvents,
};

function prlctl([command, ...rest]) {
  const fn = PRLCTL[command];
  if (!fn) fail(`Unknown command: ${command ?? ''}`, 2);
  if (command !== 'list' && command !== 'create' && command !== 'monitor-events' && command !== 'register' && !rest[0])
    fail(`Usage: prlctl ${command} <vm_id | vm_name>`, 2);
  return fn(rest);
}

/**
 * The simulated Mac: what `sysctl` and `prlsrvctl info` report of it, from
 * `<state>/prl-host.json` when a test writes one (so each test host can differ), else an Apple
 * silicon Mac mini with a Parallels Desktop Pro licence.
 */
function hostConfig() {
  const file = path.join(stateDir(), 'prl-host.json');
  const given = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  return {
    hostname: 'mac-mini-ci-01.local',
    cpuBrand: 'Apple M2 Pro',
    machine: 'arm64',
    logicalCpus: 12,
    memoryBytes: 32 * 2 ** 30,
    edition: 'Pro Edition',
    // Parallels Desktop Pro/Business terms: macOS guests running at once, vCPUs and RAM per VM.
    macosVmsLimit: 2,
    cpuLimit: 32,
    ramLimitMb: 131072,
    ...given,
  };
}

/** `prlsrvctl info --json` and `prlsrvctl user list --json`, as Parallels Desktop 20 prints them (trimmed). */
function prlsrvctl(argv) {
  const json = argv.includes('--json') || argv.includes('-j');
  if (argv[0] === 'info' && json) {
    const doc = readState('parallels', init);
    const host = hostConfig();
    const running = Object.values(doc.vms).filter((v) => v.state === 'running');
    return (
      JSON.stringify(
        {
          ID: '{0f4b6f6e-6d2a-4a8e-9c1b-5d2f0e3b7a11}',
          Hostname: host.hostname,
          OS: 'Mac OS X 14.5(23F79)',
          Version: 'Desktop 20.1.1-55740',
          'Build flags': ' ',
          'Started as service': 'on',
          'VM home': `${vmRoot()}/`,
          'Memory limit': { mode: 'auto' },
          'Minimal security level': 'low',
          'Manage settings for new users': 'allow',
          'CEP mechanism': 'on',
          'Verbose log': 'off',
          'Log rotation': 'on',
          'External device auto connect': 'ask',
          'Host ID': '{0f4b6f6e-6d2a-4a8e-9c1b-5d2f0e3b7a11}',
          License: {
            state: 'valid',
            key: '******-******-******-******-******',
            restricted: 'false',
            edition: host.edition,
            'expiration date': '2027-01-01 00:00:00',
            is_trial: 'false',
            cpu_limit: String(host.cpuLimit),
            ram_limit: String(host.ramLimitMb),
            ...(host.macosVmsLimit === null ? {} : { macos_vms_limit: String(host.macosVmsLimit) }),
          },
          'Hardware Id': '{4b3ae1a6-8a0e-5e8c-9b7b-1c2d3e4f5a6b}',
          'Signed In': 'yes',
          'Hardware info': {
            '/dev/disk0': { name: 'APPLE SSD AP0512Z', type: 'hdd' },
            '/dev/disk0s2': { name: 'Macintosh HD', type: 'hdd-part' },
            en0: { name: 'Ethernet', type: 'net' },
          },
          'Running VMs': running.length,
        },
        null,
        4,
      ) + '\n'
    );
  }
  if (argv[0] === 'user' && argv[1] === 'list' && json)
    return (
      JSON.stringify([{ NAME: 'ci@mac-mini-ci-01', MNG_SETTINGS: 'allow', DEF_VM_HOME: `${vmRoot()}/` }], null, 4) +
      '\n'
    );
  fail(`Unknown command: ${argv.join(' ')}`, 2);
}

/** `sysctl [-n] name…` for the macOS names the agent reads of a Mac's hardware. */
function sysctl(argv) {
  const bare = argv.includes('-n');
  const host = hostConfig();
  const values = {
    'hw.machine': host.machine,
    'hw.logicalcpu': host.logicalCpus,
    'hw.ncpu': host.logicalCpus,
    'hw.memsize': host.memoryBytes,
    'machdep.cpu.brand_string': host.cpuBrand,
  };
  const out = [];
  for (const name of argv.filter((a) => !a.startsWith('-'))) {
    if (!(name in values)) fail(`unknown oid '${name}'`, 1);
    out.push(bare ? String(values[name]) : `${name}: ${values[name]}`);
  }
  return out.join('\n') + '\n';
}

/**
 * The Parallels service log (/Library/Logs/parallels.log on a Mac): one line per command, in the
 * dispatcher's format (`MM-DD hh:mm:ss.mmm L /prl_disp_service:pid:tid/ message`).
 */
function serviceLog(tool, argv) {
  const now = new Date();
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  const stamp = `${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds(), 3)}`;
  const line = `${stamp} I /prl_disp_service:${process.ppid}:${process.pid}/ ${tool} request: ${argv.slice(0, 3).join(' ')}\n`;
  fs.appendFileSync(path.join(stateDir(), 'parallels.log'), line);
}

function main(tool) {
  if (tool === 'sysctl') return runTool(tool, sysctl);
  if (tool === 'prlctl' && process.argv[2] === 'monitor-events') return runTool(tool, prlctl);
  runTool(tool, (argv) => {
    serviceLog(tool, argv);
    return tool === 'prlctl' ? prlctl(argv) : prlsrvctl(argv);
  });
}

module.exports = { main };
