#!/usr/bin/env node
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('../dist/src/main.js').main(process.argv);
