/* global module */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS scripts run by node directly */
'use strict';
// Shared by the simulated illumos tools: a state directory (HOSTPLANE_SIM_STATE) holding one
// JSON document per subsystem, a lock so concurrent invocations do not lose writes, and a log
// of every argv received (calls.log, one JSON line per call).
const fs = require('node:fs');
const path = require('node:path');

function stateDir() {
  const dir = process.env.HOSTPLANE_SIM_STATE;
  if (!dir) fail('HOSTPLANE_SIM_STATE is not set', 2);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function logCall(tool, argv) {
  fs.appendFileSync(
    path.join(stateDir(), 'calls.log'),
    JSON.stringify({ tool, argv, at: new Date().toISOString() }) + '\n',
  );
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs fn(doc) under an exclusive lock of <state>/<name>.json and saves what it leaves in doc. */
function withState(name, init, fn) {
  const dir = stateDir();
  const lock = path.join(dir, `${name}.lock`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (Date.now() > deadline) fs.rmSync(lock, { recursive: true, force: true });
      sleepMs(5);
    }
  }
  try {
    const file = path.join(dir, `${name}.json`);
    const doc = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : init();
    const result = fn(doc);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(doc, null, 1));
    fs.renameSync(`${file}.tmp`, file);
    return result;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function readState(name, init) {
  const file = path.join(stateDir(), `${name}.json`);
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : init();
}

class ToolError extends Error {
  constructor(message, code = 1) {
    super(message);
    this.exitCode = code;
  }
}

function fail(message, code = 1) {
  throw new ToolError(message, code);
}

/**
 * A failure a test asked for: `<state>/faults.json` maps `"<tool> <subcommand>"` (or `"<tool>"`)
 * to the message the tool then fails with, exit code 1, before doing anything.
 */
function injectedFault(tool, argv) {
  const file = path.join(stateDir(), 'faults.json');
  if (!fs.existsSync(file)) return null;
  const faults = JSON.parse(fs.readFileSync(file, 'utf8'));
  return faults[`${tool} ${argv[0]}`] ?? faults[tool] ?? null;
}

/** Runs a tool's main, printing errors the way the real tools do (`tool: message` on stderr). */
function runTool(tool, main) {
  const argv = process.argv.slice(2);
  try {
    logCall(tool, argv);
    const fault = injectedFault(tool, argv);
    if (fault) fail(fault);
    const out = main(argv);
    if (typeof out === 'string') process.stdout.write(out);
  } catch (err) {
    if (err instanceof ToolError) {
      process.stderr.write(`${tool}: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`${tool}: internal error: ${err.stack}\n`);
      process.exitCode = 99;
    }
  }
}

/** getopt-style parsing: flags given as a set of letters, those taking a value in `withValue`. */
function getopt(argv, withValue, flagsAllowed) {
  const opts = {};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a.length > 1 && rest.length === 0) {
      for (let j = 1; j < a.length; j++) {
        const f = a[j];
        if (withValue.includes(f)) {
          const v = a.slice(j + 1) || argv[++i];
          if (v === undefined) fail(`option requires an argument -- ${f}`, 2);
          (opts[f] ??= []).push(v);
          break;
        }
        if (!flagsAllowed.includes(f)) fail(`illegal option -- ${f}`, 2);
        opts[f] = opts[f] ?? true;
      }
    } else {
      rest.push(a);
    }
  }
  return { opts, rest };
}

/** dladm/zoneadm parsable escaping: ':' and '\' inside a field. */
function esc(v) {
  return String(v).replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

module.exports = { stateDir, withState, readState, fail, runTool, getopt, esc, ToolError, sleepMs };
