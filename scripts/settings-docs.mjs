#!/usr/bin/env node
// Rewrites the settings tables of docs/operations.md and docs/agent.md from the config schemas
// (run after `npx tsc -b`; `npm run docs:settings` does both). The config-docs tests fail when
// a table differs from what this writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url).pathname;
const { replaceSettingsTable } = require(`${root}libs/config/dist/src/index.js`);
const docs = [
  ['docs/operations.md', require(`${root}apps/hub/dist/src/config/settings-doc.js`).hubSettingsTable()],
  ['docs/agent.md', require(`${root}apps/agent/dist/src/config/settings-doc.js`).agentSettingsTable()],
];
for (const [file, table] of docs) {
  const path = root + file;
  const before = readFileSync(path, 'utf8');
  const after = replaceSettingsTable(before, table, file);
  if (after !== before) writeFileSync(path, after);
  console.log(`${file}: ${after === before ? 'up to date' : 'rewritten'}`);
}
