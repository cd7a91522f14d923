/* global module */
/**
 * Folder-level import cycles (docs/architecture.md, "Wiring"): no folder of apps/hub/src,
 * apps/agent/src or libs/<lib>/src may reach itself through imports of other folders. Type-only
 * imports count: a cycle of types is still two folders that cannot be understood apart.
 * Run by `npm run lint`; apps/hub/test/architecture-cycles.test.ts proves the rule catches one.
 */

module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      comment: 'Folders import each other: move the shared contract into the lower folder (or a small contracts folder), or invert with a domain event or an injection token.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    exclude: { path: ['(^|/)node_modules/', '(^|/)dist/'] },
    doNotFollow: { path: ['(^|/)node_modules/'] },
  },
};
