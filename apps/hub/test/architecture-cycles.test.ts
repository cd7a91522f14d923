import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(__dirname, '../../../..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');

interface Cruise {
  code: number;
  output: string;
}

function depcruise(cwd: string, paths: string[]): Promise<Cruise> {
  return new Promise((resolve) => {
    execFile(DEPCRUISE, ['--config', CONFIG, ...paths], { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, output: stdout + stderr });
    });
  });
}

/** A throwaway tree of TypeScript files (`path → imports`), laid out like the repository. */
function tree(files: Record<string, string[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hp-cycles-'));
  writeFileSync(
    join(dir, 'tsconfig.base.json'),
    JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }),
  );
  for (const [path, imports] of Object.entries(files)) {
    mkdirSync(join(dir, dirname(path)), { recursive: true });
    const body = imports.map((spec, i) => `import { x as x${i} } from '${spec}';\nvoid x${i};\n`).join('');
    writeFileSync(join(dir, path), `${body}export const x = 1;\n`);
  }
  return dir;
}

async function cruiseTree(files: Record<string, string[]>): Promise<Cruise> {
  const dir = tree(files);
  try {
    return await depcruise(dir, ['apps']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('no import cycle between folders (npm run lint)', () => {
  it('the repository has none: hub domains, agent folders and libs', async () => {
    const r = await depcruise(ROOT, ['apps/hub/src', 'apps/agent/src', 'libs/protocol/src']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /no dependency violations found/);
  });

  it('two hub domains importing each other fail the check, naming both folders', async () => {
    const r = await cruiseTree({
      'apps/hub/src/jobs/job-delivery.ts': ['../tunnel/tunnel.server'],
      'apps/hub/src/tunnel/tunnel.server.ts': ['../jobs/job-delivery'],
    });
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /no-folder-cycle: apps\/hub\/src\/(jobs|tunnel) →/);
    assert.match(r.output, /apps\/hub\/src\/jobs/);
    assert.match(r.output, /apps\/hub\/src\/tunnel/);
  });

  it('a longer cycle through three folders fails too', async () => {
    const r = await cruiseTree({
      'apps/hub/src/nodes/a.ts': ['../allocations/b'],
      'apps/hub/src/allocations/b.ts': ['../workloads/c'],
      'apps/hub/src/workloads/c.ts': ['../nodes/a'],
    });
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /no-folder-cycle/);
  });

  it('an acyclic tree passes', async () => {
    const r = await cruiseTree({
      'apps/hub/src/nodes/a.ts': ['../tunnel/b'],
      'apps/hub/src/tunnel/b.ts': ['../domain-events/c'],
      'apps/hub/src/domain-events/c.ts': [],
    });
    assert.equal(r.code, 0, r.output);
  });

  it('two agent folders importing each other fail the check as well', async () => {
    const r = await cruiseTree({
      'apps/agent/src/instances/a.ts': ['../drivers/b'],
      'apps/agent/src/drivers/b.ts': ['../instances/a'],
    });
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /no-folder-cycle: apps\/agent\/src\/(instances|drivers) →/);
  });
});
