import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binaryCacheDir, binaryPath, sandboxVersions } from './binaries';

describe('binaryPath', () => {
  const saved = { assets: process.env.KUBEBUILDER_ASSETS, cache: process.env.FERRY_CACHE };
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-binaries-'));
  });
  afterEach(() => {
    process.env.KUBEBUILDER_ASSETS = saved.assets;
    process.env.FERRY_CACHE = saved.cache;
    if (saved.assets === undefined) delete process.env.KUBEBUILDER_ASSETS;
    if (saved.cache === undefined) delete process.env.FERRY_CACHE;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prefers an executable in KUBEBUILDER_ASSETS for control-plane binaries', () => {
    fs.writeFileSync(path.join(dir, 'etcd'), '#!/bin/sh\n', { mode: 0o755 });
    process.env.KUBEBUILDER_ASSETS = dir;
    expect(binaryPath('etcd')).toBe(path.join(dir, 'etcd'));
  });

  it('uses the versioned cache folder under FERRY_CACHE and names the build script when missing', () => {
    process.env.FERRY_CACHE = dir;
    delete process.env.KUBEBUILDER_ASSETS;
    const version = sandboxVersions().kubernetes;
    expect(binaryCacheDir()).toBe(path.join(dir, 'sandbox'));
    expect(() => binaryPath('kube-apiserver')).toThrow(
      `sandbox binary kube-apiserver not found at ${path.join(dir, 'sandbox', `kubernetes-${version}`, 'bin', 'kube-apiserver')}: run packages/sandbox/scripts/build-binaries.sh`,
    );
    const bin = path.join(dir, 'sandbox', `kubernetes-${version}`, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'kube-apiserver'), '#!/bin/sh\n', { mode: 0o755 });
    expect(binaryPath('kube-apiserver')).toBe(path.join(bin, 'kube-apiserver'));
  });
});
