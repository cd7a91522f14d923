#!/usr/bin/env node
// Lays out the hub as it runs in its image: compiled code, production dependencies, the
// install script and the agent bundles, in the repository's layout (run by the image build).
//   node scripts/stage-hub.mjs OUT
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stageWorkspace } from './production-tree.mjs';

const repo = resolve(dirname(new URL(import.meta.url).pathname), '..');
const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/stage-hub.mjs OUT');
  process.exit(2);
}
if (!existsSync(join(repo, 'apps/hub/dist/src/main.js'))) {
  console.error('stage-hub: apps/hub is not built: run `npx tsc -b` first');
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const { packages } = stageWorkspace(repo, out, 'apps/hub');
cpSync(join(repo, 'apps/hub/assets'), join(out, 'apps/hub/assets'), { recursive: true });
if (existsSync(join(repo, 'apps/hub/agent-bundles')))
  cpSync(join(repo, 'apps/hub/agent-bundles'), join(out, 'apps/hub/agent-bundles'), {
    recursive: true,
    filter: (src) => !src.includes('/.stage-'),
  });
console.log(`stage-hub: ${out}: hub, ${packages.length} packages`);
