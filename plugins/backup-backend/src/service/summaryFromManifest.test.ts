import type { Manifest } from '@ferry/repository';
import { summaryFromManifest } from './syncFromRepositories';

const manifest = (metadata: Record<string, unknown>) =>
  ({
    app: 'component.default.shop',
    backupId: '20261125T100000000Z-abcdef',
    createdAt: '2026-11-25T10:00:00.000Z',
    committedAt: '2026-11-25T10:00:09.000Z',
    volumes: [{ pvc: 'data', virtualSize: 100, storedBytes: 10 }],
    metadata: { entityRef: 'component:default/shop', cluster: 'sandbox', namespace: 'demo', ...metadata },
  }) as unknown as Manifest;

describe('summaryFromManifest', () => {
  it('says who or what started a backup found on a target', () => {
    expect(summaryFromManifest('local', manifest({ requestedBy: 'user:default/guest' }))?.trigger).toEqual({
      type: 'user',
      userEntityRef: 'user:default/guest',
    });
    expect(summaryFromManifest('local', manifest({ schedule: 'nightly', policy: 'nightly' }))?.trigger).toEqual({
      type: 'schedule',
      policy: 'nightly',
    });
    expect(summaryFromManifest('local', manifest({}))?.trigger).toEqual({ type: 'kubernetes' });
  });

  it('sums the sizes and leaves out manifests without an entity', () => {
    expect(summaryFromManifest('local', manifest({}))).toEqual(
      expect.objectContaining({ phase: 'Completed', logicalBytes: 100, storedBytes: 10, target: 'local' }),
    );
    expect(summaryFromManifest('local', manifest({ entityRef: undefined }))).toBeUndefined();
  });
});
