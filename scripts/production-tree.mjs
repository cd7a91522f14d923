// The production dependency tree of one workspace, as installed in this checkout: every package
// its dependencies (and theirs, with optional and peer ones that are installed) resolve to by
// Node's lookup, as paths relative to the repository. Used to copy a runnable subset of the
// checkout (the agent bundle, the hub image) without npm, which the image build does not have.
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Package directories (relative to `repo`) that `workspaceDir`'s production code can load. */
export function productionTree(repo, workspaceDir) {
  const found = new Set();
  const workspaces = new Set();
  const visit = (pkgDir, optionalToo) => {
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    const wanted = [
      ...Object.keys(manifest.dependencies ?? {}).map((n) => [n, false]),
      ...Object.keys(manifest.optionalDependencies ?? {}).map((n) => [n, true]),
      ...Object.keys(manifest.peerDependencies ?? {}).map((n) => [n, true]),
    ];
    for (const [name, optional] of wanted) {
      const at = resolvePackage(repo, pkgDir, name);
      if (!at) {
        if (optional || !optionalToo) continue;
        throw new Error(`${name} (needed by ${relative(repo, pkgDir) || 'the root'}) is not installed: run npm ci`);
      }
      const real = realpathSync(at);
      const rel = relative(repo, real);
      if (!rel.includes('node_modules')) {
        // A workspace package (a symlink into apps/ or libs/).
        if (!workspaces.has(rel)) {
          workspaces.add(rel);
          visit(real, true);
        }
        continue;
      }
      if (found.has(rel)) continue;
      found.add(rel);
      visit(real, true);
    }
  };
  visit(join(repo, workspaceDir), true);
  return { packages: [...found].sort(), workspaces: [...workspaces].sort() };
}

function resolvePackage(repo, fromDir, name) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === repo || dirname(dir) === dir) return null;
  }
}

/**
 * Copies `workspaceDir` (package.json and compiled dist/src), the workspace libraries it uses
 * (linked from node_modules as npm links them) and its production dependencies into `stage`,
 * in the repository's layout, so Node resolves every module there as it does here.
 */
export function stageWorkspace(repo, stage, workspaceDir) {
  const tree = productionTree(repo, workspaceDir);
  const copy = (path, filter) =>
    cpSync(join(repo, path), join(stage, path), { recursive: true, verbatimSymlinks: true, filter });
  for (const dir of [workspaceDir, ...tree.workspaces]) {
    copy(join(dir, 'package.json'));
    copy(join(dir, 'dist/src'));
    const name = JSON.parse(readFileSync(join(repo, dir, 'package.json'), 'utf8')).name;
    const link = join(stage, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), join(stage, dir)), link);
  }
  for (const pkg of tree.packages) {
    // A nested node_modules is copied only as far as it is in the tree (as its own entry).
    copy(pkg, (src) => !relative(join(repo, pkg), src).split('/').includes('node_modules'));
  }
  return tree;
}
