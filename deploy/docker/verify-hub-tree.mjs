// Run by the hub image's build (hub.Dockerfile, `verify` stage) as the hub's user in the image,
// and by hand with `docker run --rm hostplane/hub node deploy/docker/verify-hub-tree.mjs`:
//   node deploy/docker/verify-hub-tree.mjs [REPORT.json]
// Every package of the production tree that carries a native addon for this platform loads it
// the way the hub does (through the package, which picks its build; one process per package, as
// two builds of one addon must not share a process), and the hub's modules load. A base that lacks a library
// or has another glibc or Node ABI fails the build here, naming the package.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';

const require = createRequire(import.meta.url);

const root = process.cwd();
const platform = `${process.platform}-${process.arch}`;
const packages = new Set();
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'prebuilds') walk(path);
    else if (entry.isDirectory() && existsSync(join(path, platform))) packages.add(packageOf(path));
    else if (entry.isFile() && (entry.name.endsWith('.node') || entry.name === 'binding.gyp'))
      packages.add(packageOf(path));
  }
};
const packageOf = (path) => {
  let dir = dirname(path);
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
};
walk(join(root, 'node_modules'));

const loaded = [];
for (const dir of [...packages].sort()) {
  const name = relative(join(root, 'node_modules'), dir).replace(/\/node_modules\//g, ' > ');
  let entry;
  try {
    entry = require.resolve(dir);
  } catch {
    // A binary-only package (e.g. @msgpackr-extract/msgpackr-extract-linux-x64): its parent loads it.
    continue;
  }
  const run = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', entry], { encoding: 'utf8' });
  if (run.status !== 0) {
    const why = run.signal ? `killed by ${run.signal}` : run.stderr.trim().split('\n').slice(0, 6).join('\n');
    console.error(`verify-hub-tree: ${name} does not load here: ${why}`);
    process.exit(1);
  }
  loaded.push(name);
}
if (loaded.length === 0) {
  console.error('verify-hub-tree: no package with a native addon: is this the staged hub tree?');
  process.exit(1);
}
// Loading the modules reads no configuration; the test environment keeps it that way.
const hub = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(join(root, 'apps/hub/dist/src/app.module'))})`], {
  encoding: 'utf8',
  env: { ...process.env, HOSTPLANE_ENV: 'test' },
});
if (hub.status !== 0) {
  console.error(`verify-hub-tree: the hub's modules do not load: ${hub.stderr.trim()}`);
  process.exit(1);
}
const report = { node: process.version, glibc: process.report.getReport().header.glibcVersionRuntime, addons: loaded };
if (process.argv[2]) writeFileSync(process.argv[2], `${JSON.stringify(report, null, 2)}\n`);
console.log(`verify-hub-tree: node ${report.node}, glibc ${report.glibc}, native addons load: ${loaded.join(', ')}`);
