#!/usr/bin/env node
/* eslint-disable no-console */
// Measures the sandbox's warm start (binaries built, PKI cached) and stop times.
// Usage: bash ../../scripts/run.sh node scripts/measure-start.cjs [runs=3]   (root: the node is real)
require('@backstage/cli/config/nodeTransform.cjs');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startSandbox } = require('../src/index.ts');

async function main() {
  const args = process.argv.slice(2);
  const runs = Number(args.find(a => /^\d+$/.test(a)) ?? 3);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-sandbox-measure-'));
  const starts = [];
  const stops = [];
  try {
    // The first start creates the PKI: not counted.
    const first = Date.now();
    await (await startSandbox({ dataDir })).stop();
    console.log(`cold start + stop (new PKI): ${((Date.now() - first) / 1000).toFixed(1)} s`);
    for (let i = 0; i < runs; i++) {
      let t = Date.now();
      const sandbox = await startSandbox({ dataDir });
      starts.push((Date.now() - t) / 1000);
      t = Date.now();
      await sandbox.stop();
      stops.push((Date.now() - t) / 1000);
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const median = values => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(`warm start: ${starts.map(s => s.toFixed(1)).join(' ')} s (median ${median(starts).toFixed(1)} s)`);
  console.log(`stop: ${stops.map(s => s.toFixed(1)).join(' ')} s (median ${median(stops).toFixed(1)} s)`);
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
