import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CsiServiceClient } from './csiClient';
import { CsiDriver, startCsiDriver } from './csiDriver';
import { releaseRecordedState } from './driverState';
import { listLoopDevices } from './loopDevices';
import { readMountTable } from './mountTable';

// What the driver does to the host, undone: loop devices beyond the kernel's pre-made ones are
// added through /dev/loop-control and removed again, and after a "crash" (the driver gone with
// volumes staged and published) the recorded mounts and devices are released. Root only.

const MiB = 1024 * 1024;
const block = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const mount = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

let dir: string;
let driver: CsiDriver | undefined;
let controller: CsiServiceClient;
let node: CsiServiceClient;

beforeEach(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root: it makes loop devices and mounts');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-csi-host-'));
  driver = await startCsiDriver({ socketPath: path.join(dir, 'csi.sock'), storageDir: path.join(dir, 'storage'), nodeName: 'n' });
  controller = new CsiServiceClient('controller', driver.socketPath);
  node = new CsiServiceClient('node', driver.socketPath);
});

afterEach(async () => {
  controller?.close();
  node?.close();
  await driver?.stop();
  await releaseRecordedState(driver!.stateFile, () => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

const ours = () => listLoopDevices().filter(l => l.backingFile?.startsWith(dir));

async function createVolume(name: string, capability: object) {
  const response = await controller.call<{ volume: { volume_id: string } }>('CreateVolume', {
    name,
    capacity_range: { required_bytes: 16 * MiB },
    volume_capabilities: [capability],
  });
  return response.volume.volume_id;
}

it('adds loop devices beyond the free ones through /dev/loop-control and removes them on unstage', async () => {
  const before = listLoopDevices();
  const free = before.filter(l => l.backingFile === undefined).length;
  const count = free + 2;
  const staged: Array<{ id: string; path: string }> = [];
  for (let i = 0; i < count; i++) {
    const id = await createVolume(`many-${i}`, block);
    const stagingPath = path.join(dir, 'staging', String(i));
    fs.mkdirSync(stagingPath, { recursive: true });
    await node.call('NodeStageVolume', { volume_id: id, staging_target_path: stagingPath, volume_capability: block });
    staged.push({ id, path: stagingPath });
  }
  const attached = ours();
  expect(attached).toHaveLength(count);
  expect(new Set(attached.map(l => l.device)).size).toBe(count);
  const added = attached.filter(l => !before.some(b => b.index === l.index));
  expect(added.length).toBeGreaterThanOrEqual(2);
  for (const loop of attached) expect(fs.statSync(loop.device).isBlockDevice()).toBe(true);

  for (const { id, path: stagingPath } of staged) {
    await node.call('NodeUnstageVolume', { volume_id: id, staging_target_path: stagingPath });
  }
  expect(ours()).toEqual([]);
  const indexesNow = new Set(listLoopDevices().map(l => l.index));
  for (const loop of added) {
    expect(indexesNow.has(loop.index)).toBe(false);
    expect(fs.existsSync(loop.device)).toBe(false);
  }
  expect(JSON.parse(fs.readFileSync(driver!.stateFile, 'utf8'))).toEqual({ loops: {}, mounts: [] });
}, 120_000);

it('releases what a driver that went away left staged and published', async () => {
  const filesystem = await createVolume('left-mounted', mount);
  const raw = await createVolume('left-block', block);
  for (const [id, capability] of [
    [filesystem, mount],
    [raw, block],
  ] as const) {
    const stagingPath = path.join(dir, 'staging', id);
    fs.mkdirSync(stagingPath, { recursive: true });
    await node.call('NodeStageVolume', { volume_id: id, staging_target_path: stagingPath, volume_capability: capability });
    await node.call('NodePublishVolume', {
      volume_id: id,
      staging_target_path: stagingPath,
      target_path: path.join(dir, 'targets', id),
      volume_capability: capability,
    });
  }
  fs.writeFileSync(path.join(dir, 'targets', filesystem, 'file'), 'kept');
  expect(readMountTable().filter(m => m.mountPoint.startsWith(dir))).toHaveLength(3);
  expect(ours()).toHaveLength(2);

  await driver!.stop(); // gone without unpublishing or unstaging, as after a crash
  expect(await releaseRecordedState(driver!.stateFile, () => undefined)).toBe(0);
  expect(readMountTable().filter(m => m.mountPoint.startsWith(dir))).toEqual([]);
  expect(ours()).toEqual([]);
  expect(fs.existsSync(driver!.stateFile)).toBe(false);

  // The data stayed in the volume: staged again by a new driver, the file is there.
  driver = await startCsiDriver({ socketPath: path.join(dir, 'csi2.sock'), storageDir: path.join(dir, 'storage'), nodeName: 'n' });
  node.close();
  node = new CsiServiceClient('node', driver.socketPath);
  const again = path.join(dir, 'again');
  fs.mkdirSync(again);
  await node.call('NodeStageVolume', { volume_id: filesystem, staging_target_path: again, volume_capability: mount });
  expect(fs.readFileSync(path.join(again, 'file'), 'utf8')).toBe('kept');
  await node.call('NodeUnstageVolume', { volume_id: filesystem, staging_target_path: again });
}, 120_000);
