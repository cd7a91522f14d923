#!/usr/bin/env node
// Builds the agent bundle of this platform (`npm run bundle:agent`): a tarball with the agent's
// compiled code, its workspace libraries and its production dependencies as installed here
// (node-pty's native module included), laid out as in the repository so Node resolves every
// module as it does in a checkout. The hub serves it at GET /v1/agent/bundle/{os}-{arch}.
//
//   node scripts/bundle-agent.mjs [--out DIR]     (default apps/hub/agent-bundles)
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { create as createTar } from 'tar';
import { stageWorkspace } from './production-tree.mjs';

const repo = resolve(dirname(new URL(import.meta.url).pathname), '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(repo, 'apps/hub/agent-bundles') } } });
const outDir = resolve(values.out);

/** The names install.sh derives from `uname -s` / `uname -m`. */
const OS = { linux: 'linux', darwin: 'darwin', sunos: 'illumos' }[process.platform];
const ARCH = { x64: 'x64', arm64: 'arm64' }[process.arch];
if (!OS || !ARCH)
  fail(
    `no agent bundle for ${process.platform}-${process.arch}: the agent runs on Linux, illumos and macOS, x64 or arm64`,
  );
const platform = `${OS}-${ARCH}`;

const agentMain = join(repo, 'apps/agent/dist/src/main.js');
if (!existsSync(agentMain)) fail('apps/agent is not built: run `npx tsc -b` first (npm run bundle:agent does)');

const stage = join(outDir, `.stage-${platform}-${process.pid}`);
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

const { packages } = stageWorkspace(repo, stage, 'apps/agent');
// The service templates `hostplane-agent service install` renders (found upwards from dist/).
for (const dir of ['deploy/systemd', 'deploy/smf', 'deploy/launchd'])
  cpSync(join(repo, dir), join(stage, dir), { recursive: true });
pruneNodePty(join(stage, 'node_modules/node-pty'));

const agentVersion = JSON.parse(readFileSync(join(repo, 'apps/agent/package.json'), 'utf8')).version;
writeFileSync(
  join(stage, 'BUNDLE.json'),
  `${JSON.stringify(
    {
      agent_version: agentVersion,
      platform,
      node_version: process.version,
      node_modules_abi: process.versions.modules,
      packages: packages.length,
    },
    null,
    2,
  )}\n`,
);

mkdirSync(outDir, { recursive: true });
const file = join(outDir, `hostplane-agent-${platform}.tar.gz`);
const tmp = `${file}.${process.pid}.tmp`;
// portable: no owner names or uids, so the extracted files belong to whoever extracts them.
await createTar({ gzip: true, file: tmp, cwd: stage, portable: true, follow: false }, readdirSync(stage));
renameSync(tmp, file);
rmSync(stage, { recursive: true, force: true });
const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
console.log(`${file}: ${lstatSync(file).size} bytes, ${packages.length} packages, sha256 ${sha256}`);

/** node-pty ships sources and every other platform's prebuilt modules: keep what loads here. */
function pruneNodePty(dir) {
  if (!existsSync(dir)) return;
  for (const entry of ['deps', 'third_party', 'src', 'scripts', 'typings', 'binding.gyp'])
    rmSync(join(dir, entry), { recursive: true, force: true });
  const prebuilds = join(dir, 'prebuilds');
  if (existsSync(prebuilds))
    for (const p of readdirSync(prebuilds))
      if (p !== `${process.platform}-${process.arch}`) rmSync(join(prebuilds, p), { recursive: true });
  const build = join(dir, 'build');
  if (existsSync(build))
    for (const entry of readdirSync(build)) if (entry !== 'Release') rmSync(join(build, entry), { recursive: true });
  const release = join(build, 'Release');
  if (existsSync(release))
    for (const entry of readdirSync(release))
      if (!/\.node$|^spawn-helper$/.test(entry)) rmSync(join(release, entry), { recursive: true });
}

function fail(message) {
  console.error(`bundle:agent: ${message}`);
  process.exit(1);
}
