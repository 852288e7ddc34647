import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { csiBinaryPath } from './csiBinaries';
import { CsiDriver, startCsiDriver } from './csiDriver';
import { releaseRecordedState } from './driverState';
import { listLoopDevices } from './loopDevices';
import { readMountTable } from './mountTable';

// csi-sanity (github.com/kubernetes-csi/csi-test, the upstream conformance suite) against the
// driver: real binary, real loop devices, ext4 and mounts, so this runs as root.

const MiB = 1024 * 1024;

type SanityRun = { code: number | null; output: string };

function runSanity(args: string[]): Promise<SanityRun> {
  return new Promise(resolve => {
    execFile(csiBinaryPath('csi-sanity'), args, { maxBuffer: 64 * MiB, timeout: 600_000 }, (error, stdout, stderr) => {
      let code: number | null = 0;
      if (error) code = typeof error.code === 'number' ? error.code : null;
      resolve({ code, output: `${stdout}\n${stderr}` });
    });
  });
}

describe('csi-sanity against sandbox.ferry.io', () => {
  let dir: string;
  let driver: CsiDriver | undefined;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('csi-sanity needs root: it makes loop devices and mounts');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-csi-sanity-'));
    driver = await startCsiDriver({
      socketPath: path.join(dir, 'csi.sock'),
      storageDir: path.join(dir, 'storage'),
      nodeName: 'csi-sanity-node',
    });
  });

  afterAll(async () => {
    await driver?.stop();
    if (dir) {
      await releaseRecordedState(path.join(dir, 'storage', 'driver-state.json'), () => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(['mount', 'block'])(
    'passes every spec with %s volumes, leaving no mount or loop device behind',
    async accessType => {
      const run = await runSanity([
        `--csi.endpoint=unix://${driver!.socketPath}`,
        `--csi.mountdir=${path.join(dir, 'mount')}`,
        `--csi.stagingdir=${path.join(dir, 'staging')}`,
        `--csi.testvolumesize=${64 * MiB}`,
        `--csi.testvolumeexpandsize=${128 * MiB}`,
        `--csi.testvolumeaccesstype=${accessType}`,
        '--ginkgo.no-color',
      ]);
      fs.writeFileSync(path.join(dir, `csi-sanity-${accessType}.log`), run.output);
      const failures = run.output.match(/\[FAIL\].*/g) ?? [];
      expect({ code: run.code, failures }).toEqual({ code: 0, failures: [] });
      const summary = /Ran (\d+) of (\d+) Specs[\s\S]*?(\d+) Passed \| (\d+) Failed \| (\d+) Pending \| (\d+) Skipped/.exec(
        run.output,
      );
      expect(summary).not.toBeNull();
      const [, ran, , passed, failed] = summary!.map(Number);
      expect(failed).toBe(0);
      expect(passed).toBe(ran);
      // The specs skipped are those of capabilities the driver does not claim (ControllerPublish,
      // GetSnapshot, ModifyVolume, volume health, group snapshots): about 68 of 103 run.
      expect(passed).toBeGreaterThan(60);
      // csi-sanity's clean-up unstaged and deleted every volume: nothing of ours is left.
      expect(readMountTable().filter(m => m.mountPoint.startsWith(dir))).toEqual([]);
      expect(listLoopDevices().filter(l => l.backingFile?.startsWith(dir))).toEqual([]);
      expect(fs.readdirSync(path.join(dir, 'storage', 'volumes'))).toEqual([]);
      expect(fs.readdirSync(path.join(dir, 'storage', 'snapshots'))).toEqual([]);
    },
    600_000,
  );
});
