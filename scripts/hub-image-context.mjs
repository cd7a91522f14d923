#!/usr/bin/env node
// Writes the hub image's build context to stdout as a tar (deploy/docker/hub-image.sh pipes it to
// `docker build -`): the hub as it runs in its image (the hub's compiled code, its workspace
// libraries, its production dependencies, the install script and the agent bundles) plus
// hub.Dockerfile and the tree check, read in place from this checkout. Nothing is copied to
// disk first: staging 22,000 files and deleting them cost more than the docker build here.
//   node scripts/hub-image-context.mjs | docker build -f deploy/docker/hub.Dockerfile -
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { create as createTar } from 'tar';
import { productionTree } from './production-tree.mjs';

const repo = resolve(dirname(new URL(import.meta.url).pathname), '..');
if (!existsSync(join(repo, 'apps/hub/dist/src/main.js'))) {
  console.error('hub-image-context: apps/hub is not built: run `npx tsc -b` first');
  process.exit(1);
}
const tree = productionTree(repo, 'apps/hub');
const paths = ['deploy/docker/hub.Dockerfile', 'deploy/docker/verify-hub-tree.mjs', 'apps/hub/assets'];
for (const dir of ['apps/hub', ...tree.workspaces]) {
  const name = JSON.parse(readFileSync(join(repo, dir, 'package.json'), 'utf8')).name;
  // npm links each workspace into node_modules as a relative symlink: the tar keeps it a symlink.
  paths.push(join(dir, 'package.json'), join(dir, 'dist/src'), join('node_modules', name));
}
if (existsSync(join(repo, 'apps/hub/agent-bundles'))) paths.push('apps/hub/agent-bundles');
paths.push(...tree.packages);

const packages = new Set(tree.packages);
/**
 * Type declarations, TypeScript sources and source maps of dependencies: Node never loads them,
 * and they are 8,000 of the 18,500 files (71 of 135 MB) that each build would copy and hash.
 */
const DEV_ONLY = /\.([mc]?ts|map)$/;
/** A nested node_modules goes in only as far as it is in the tree (as its own entry). */
const wanted = (path, stat) => {
  if (path.includes('/.stage-')) return false;
  if (path.startsWith('node_modules/') && stat.isFile() && DEV_ONLY.test(path)) return false;
  const parts = path.split('/');
  // The deepest package of the tree holding this path; below it, no further node_modules.
  for (let i = parts.length; i > 0; i--)
    if (packages.has(parts.slice(0, i).join('/'))) return !parts.slice(i).includes('node_modules');
  return true;
};

createTar(
  { cwd: repo, portable: true, follow: false, filter: (p, stat) => wanted(relative(repo, resolve(repo, p)), stat) },
  paths,
)
  .on('error', (err) => {
    console.error(`hub-image-context: ${err.message}`);
    process.exit(1);
  })
  .pipe(process.stdout);
