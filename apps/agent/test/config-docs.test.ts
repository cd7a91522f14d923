import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readSettingsTable } from '@hostplane/config';
import { agentSettingsTable } from '../src/config/settings-doc';

describe('agent settings documentation', () => {
  it('docs/agent.md lists every setting as the schema declares it (npm run docs:settings rewrites it)', () => {
    const doc = readFileSync(join(__dirname, '../../../../docs/agent.md'), 'utf8');
    assert.equal(readSettingsTable(doc), agentSettingsTable());
  });
});
