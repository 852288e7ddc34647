import { isBackupAvailable } from './annotations';

const entity = (annotations: Record<string, string>) => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'shop', annotations },
});

describe('isBackupAvailable', () => {
  it('accepts any single application annotation', () => {
    expect(isBackupAvailable(entity({ 'ferry.io/helm-release': 'shop' }))).toBe(true);
    expect(isBackupAvailable(entity({ 'backstage.io/kubernetes-id': 'shop' }))).toBe(true);
    expect(
      isBackupAvailable(entity({ 'backstage.io/kubernetes-namespace': 'shop' })),
    ).toBe(true);
  });

  it('refuses entities without one, and empty values', () => {
    expect(isBackupAvailable(entity({}))).toBe(false);
    expect(isBackupAvailable(entity({ 'ferry.io/policy': 'daily' }))).toBe(false);
    expect(isBackupAvailable(entity({ 'ferry.io/helm-release': '' }))).toBe(false);
  });
});
