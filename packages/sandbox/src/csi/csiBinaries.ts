import fs from 'node:fs';
import path from 'node:path';
import { binaryCacheDir, packageRoot, sandboxVersions } from '../binaries';

/** Upstream CSI programs the storage stack runs; built by `scripts/build-binaries.sh csi`. */
export type CsiBinary = 'csi-provisioner' | 'csi-snapshotter' | 'snapshot-controller' | 'csi-sanity';

export type CsiVersions = {
  csiSpec: string;
  externalProvisioner: string;
  externalSnapshotter: string;
  csiTest: string;
};

/** Pinned versions of the CSI parts, read from versions.env (shared with the build script). */
export function csiVersions(): CsiVersions {
  const text = fs.readFileSync(path.join(packageRoot, 'versions.env'), 'utf8');
  const get = (key: string) => {
    const match = new RegExp(`^${key}=(\\S+)`, 'm').exec(text);
    if (!match) throw new Error(`versions.env has no ${key}`);
    return match[1];
  };
  return {
    csiSpec: get('CSI_SPEC_VERSION'),
    externalProvisioner: get('EXTERNAL_PROVISIONER_VERSION'),
    externalSnapshotter: get('EXTERNAL_SNAPSHOTTER_VERSION'),
    csiTest: get('CSI_TEST_VERSION'),
  };
}

const buildHint = 'run packages/sandbox/scripts/build-binaries.sh csi';

function mustExist(file: string, what: string): string {
  if (!fs.existsSync(file)) throw new Error(`${what} not found at ${file}: ${buildHint}`);
  return file;
}

/** Absolute path of an upstream CSI binary in the build cache. */
export function csiBinaryPath(name: CsiBinary): string {
  const versions = csiVersions();
  const component: Record<CsiBinary, string> = {
    'csi-provisioner': `external-provisioner-${versions.externalProvisioner}`,
    'csi-snapshotter': `external-snapshotter-${versions.externalSnapshotter}`,
    'snapshot-controller': `external-snapshotter-${versions.externalSnapshotter}`,
    'csi-sanity': `csi-test-${versions.csiTest}`,
  };
  return mustExist(path.join(binaryCacheDir(), component[name], 'bin', name), `CSI binary ${name}`);
}

/** Folder holding `csi.proto` (the CSI spec) and `pluginregistration/api.proto` (the kubelet's). */
export function csiProtoDir(): string {
  const dir = path.join(binaryCacheDir(), `csi-protos-${csiVersions().csiSpec}-${sandboxVersions().kubernetes}`);
  return path.dirname(mustExist(path.join(dir, 'csi.proto'), 'csi.proto'));
}

/** Folder of the upstream VolumeSnapshot (and VolumeGroupSnapshot) CRDs of external-snapshotter. */
export function snapshotCrdDir(): string {
  const dir = path.join(binaryCacheDir(), `external-snapshotter-${csiVersions().externalSnapshotter}`, 'crd');
  mustExist(path.join(dir, 'snapshot.storage.k8s.io_volumesnapshots.yaml'), 'the snapshot CRDs');
  return dir;
}
