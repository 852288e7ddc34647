#!/usr/bin/env node
// Removes what real nodes of dead sandbox processes left (processes, mounts, bridges, cgroups,
// files; see src/node/cleanup.ts). Run by the watchdog when a sandbox's Node process died hard.
require('@backstage/cli/config/nodeTransform.cjs');
const { reapDeadSandboxNodes } = require('../src/node/reap.ts');

reapDeadSandboxNodes(message => process.stderr.write(`${message}\n`)).then(
  () => process.exit(0),
  error => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
