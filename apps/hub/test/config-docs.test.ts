import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readSettingsTable } from '@hostplane/config';
import { hubSettingsTable } from '../src/config/settings-doc';

describe('hub settings documentation', () => {
  it('docs/operations.md lists every setting as the schema declares it (npm run docs:settings rewrites it)', () => {
    const doc = readFileSync(join(__dirname, '../../../../docs/operations.md'), 'utf8');
    assert.equal(readSettingsTable(doc), hubSettingsTable());
  });
});
