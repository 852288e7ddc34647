import type { StatusRecorder } from '../controller/StatusRecorder';
import type { BackupStatus } from '../controller/BackupResource';

/**
 * When a volume's steps happened (ISO times), kept in its status entry as `timings` so that the
 * time outside the data pass can be told apart (bench:e2e): snapshot, temporary claim, the
 * datamover Job's steps (`JobTimings`), and what follows.
 */
export type VolumeTimings = Record<string, string>;

/** Adds times to a volume's `timings` (kept with the next status write). */
export async function recordVolumeTimes(recorder: StatusRecorder<BackupStatus>, pvc: string, times: VolumeTimings): Promise<void> {
  const current = recorder.status.volumes?.find(v => v.pvc === pvc)?.timings;
  await recorder.volume(pvc, { timings: { ...current, ...times } });
}

export const nowIso = () => new Date().toISOString();
