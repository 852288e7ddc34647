import type { AppLock, Manifest, Repository } from '@ferry/repository';
import type { BackupResource, BackupStatus } from '../controller/BackupResource';
import type { StatusRecorder } from '../controller/StatusRecorder';
import type { ApplicationTarget } from '../mapping/types';
import { commitBackupManifest } from './commitBackupManifest';

const target: ApplicationTarget = {
  entityRef: 'component:default/shop',
  appId: 'component.default.shop',
  cluster: 'sandbox',
  namespace: 'demo',
  application: { helmReleases: ['demo'], labelSelectors: [], wholeNamespace: false },
};
const backup = { metadata: { name: 'b', namespace: 'demo' }, spec: {} } as unknown as BackupResource;
const record = { key: 'apps/x/volumes/data/b.json', size: 10, digest: 'sha256:00' };
const manifest = { app: target.appId, backupId: 'b1', volumes: [{ pvc: 'data', virtualSize: 1024 }], metadata: {} } as unknown as Manifest;

function fakes(committed: boolean) {
  const commits: unknown[] = [];
  const repository = {
    isCommitted: async () => committed,
    readManifest: async () => manifest,
    commitBackup: async (o: unknown) => {
      commits.push(o);
      return manifest;
    },
  } as unknown as Repository;
  const status: BackupStatus = { volumes: [{ pvc: 'data', phase: 'Completed', record, storedBytes: 512 }] };
  const events: string[] = [];
  const recorder = { status, event: async (step: string, message: string) => void events.push(`${step}: ${message}`) } as unknown as StatusRecorder;
  return { repository, recorder, commits, events };
}

describe('commitBackupManifest', () => {
  it('writes the manifest once, with the completed volumes', async () => {
    const { repository, recorder, commits } = fakes(false);
    const outcome = await commitBackupManifest({ repository, lock: {} as AppLock, backup, target, backupId: 'b1', recorder });
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({ app: target.appId, backupId: 'b1', volumes: [{ pvc: 'data', record }] });
    expect(outcome.step).toBe('Completed');
  });

  it('reads back a manifest this backup committed before an interruption instead of failing on it', async () => {
    const { repository, recorder, commits, events } = fakes(true);
    const outcome = await commitBackupManifest({ repository, lock: {} as AppLock, backup, target, backupId: 'b1', recorder });
    expect(commits).toEqual([]);
    expect(events).toEqual(['Commit: The manifest of b1 was written before the interruption']);
    expect(outcome).toMatchObject({ step: 'Completed', change: { phase: 'Completed', logicalBytes: 1024, storedBytes: 512 } });
  });
});
