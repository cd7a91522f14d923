import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(__dirname, '../../../..');

describe('the committed SDK', () => {
  it('matches what the current hub generates (npm run sdk:generate leaves nothing to commit)', () => {
    const check = spawnSync(process.execPath, [join(root, 'scripts/sdk-generate.mjs'), '--check'], {
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, `${check.stderr}${check.stdout}`);
  });

  it('has a typed path for every route of its spec', () => {
    const spec = JSON.parse(readFileSync(join(root, 'libs/sdk/openapi.json'), 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const dir = join(root, 'libs/sdk/src/generated');
    // One file per API area: every path is in one of them.
    const types = readdirSync(dir)
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    const missing: string[] = [];
    for (const [path, methods] of Object.entries(spec.paths)) {
      const block = types.slice(types.indexOf(`  '${path}': {`));
      assert.ok(types.includes(`  '${path}': {`), `${path} has a paths entry`);
      for (const method of Object.keys(methods)) {
        const declared = new RegExp(`^    ${method}: operations\\['`, 'm').exec(
          block.slice(0, block.indexOf('\n  };')),
        );
        if (!declared) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
