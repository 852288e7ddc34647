import { cleanUpCsiStack } from '../csi/csiStack';
import { cleanupNode } from './cleanup';
import { NodeRecord, reapDeadNodes } from './slots';

/**
 * Removes what one node left, by its record: first the storage stack of its data folder (its
 * processes, mounts and loop devices, by the CSI driver's own records), then the node itself
 * (cleanup.ts). Problems are logged, not thrown: the next reap tries again.
 */
export function reapNodeRecord(log: (message: string) => void) {
  return async (record: NodeRecord) => {
    try {
      const held = await cleanUpCsiStack({ dataDir: record.dataDir, log });
      if (held > 0) log(`Clean-up of node slot ${record.slot}: ${held} mount(s) or loop device(s) of its storage stack still held`);
    } catch (error) {
      log(`Clean-up of node slot ${record.slot}: storage stack: ${(error as Error).message}`);
    }
    for (const problem of await cleanupNode(record)) log(`Clean-up of node slot ${record.slot}: ${problem}`);
  };
}

/** Removes what every real node whose sandbox process is gone left behind (any data folder). */
export async function reapDeadSandboxNodes(log: (message: string) => void = () => undefined): Promise<void> {
  await reapDeadNodes(reapNodeRecord(log), log);
}
