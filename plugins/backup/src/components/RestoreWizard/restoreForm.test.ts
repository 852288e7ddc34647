import { initialRestoreForm, toRestoreRequest } from './restoreForm';

const source = { cluster: 'sandbox', namespace: 'shop' };

describe('toRestoreRequest', () => {
  it('defaults to the backup own cluster and namespace, everything restored, existing skipped', () => {
    const { request, errors } = toRestoreRequest('b1', initialRestoreForm(source));
    expect(errors).toEqual({});
    expect(request).toEqual({
      backupId: 'b1',
      cluster: 'sandbox',
      namespace: 'shop',
      scope: 'all',
      existing: 'skip',
    });
  });

  it('builds transforms, omissions and image restore from the fields', () => {
    const form = {
      ...initialRestoreForm(source),
      namespace: ' shop-2 ',
      existing: 'patch' as const,
      omitLabels: 'team, tier',
      omitAnnotations: '',
      storageClassMap: [{ from: 'standard', to: 'ferry-sandbox' }, { from: '', to: '' }],
      namespaceMap: [{ from: 'shop-db', to: 'shop-2-db' }],
      patches: '[{"target":{"kind":"Deployment","name":"web"},"operations":[{"op":"replace","path":"/spec/replicas","value":1}]}]',
      imageRestore: {
        enabled: true,
        registry: 'registry.local:5000',
        repository: 'restored',
        authSecret: '',
        overrideImageIfExist: false,
      },
    };
    const { request, errors } = toRestoreRequest('b1', form);
    expect(errors).toEqual({});
    expect(request).toEqual({
      backupId: 'b1',
      cluster: 'sandbox',
      namespace: 'shop-2',
      scope: 'all',
      existing: 'patch',
      omitLabels: ['team', 'tier'],
      transforms: {
        namespaceMap: { 'shop-db': 'shop-2-db' },
        storageClassMap: { standard: 'ferry-sandbox' },
        patches: [
          {
            target: { kind: 'Deployment', name: 'web' },
            operations: [{ op: 'replace', path: '/spec/replicas', value: 1 }],
          },
        ],
      },
      imageRestore: { registry: 'registry.local:5000', repository: 'restored' },
    });
  });

  it('sends image restore as the backend takes it: optional fields only when set', () => {
    const imageRestore = (fields: Partial<ReturnType<typeof initialRestoreForm>['imageRestore']>) =>
      toRestoreRequest('b1', {
        ...initialRestoreForm(source),
        imageRestore: { ...initialRestoreForm(source).imageRestore, enabled: true, ...fields },
      });
    expect(imageRestore({ registry: ' registry.local ', repository: ' ', authSecret: '' }).request.imageRestore).toEqual({
      registry: 'registry.local',
    });
    expect(
      imageRestore({ registry: '[::1]:5000', repository: 'ferry/shop', authSecret: 'push.creds', overrideImageIfExist: true })
        .request.imageRestore,
    ).toEqual({ registry: '[::1]:5000', repository: 'ferry/shop', authSecret: 'push.creds', overrideImageIfExist: true });
    for (const registry of ['https://registry.local', 'registry.local/shop', 'registry.local:port', '-registry']) {
      expect(imageRestore({ registry }).errors['imageRestore.registry']).toMatch(/without a scheme or path/);
    }
    expect(imageRestore({ registry: 'r.local', repository: 'Shop/' }).errors).toEqual({
      'imageRestore.repository': expect.stringContaining('lower-case path components'),
    });
    expect(imageRestore({ registry: 'r.local', authSecret: 'Pull_Secret' }).errors).toEqual({
      'imageRestore.authSecret': expect.stringContaining('the name of a Secret'),
    });
    expect(toRestoreRequest('b1', initialRestoreForm(source)).request.imageRestore).toBeUndefined();
  });

  it('names the fields that are wrong', () => {
    const form = {
      ...initialRestoreForm(source),
      cluster: ' ',
      namespace: 'Shop_2',
      storageClassMap: [{ from: 'standard', to: '' }],
      patches: '{"target":{}}',
      imageRestore: { ...initialRestoreForm(source).imageRestore, enabled: true },
    };
    const { errors } = toRestoreRequest('b1', form);
    expect(errors).toEqual({
      cluster: 'a target cluster is required',
      namespace: expect.stringContaining('lower-case DNS label'),
      'storageClassMap.0.to': '"" is not a valid name',
      patches: 'must be a JSON array of { target, operations }',
      'imageRestore.registry': 'a registry is required to restore images',
    });
    expect(toRestoreRequest('b1', { ...initialRestoreForm(source), patches: '[{' }).errors.patches).toMatch(
      /^not valid JSON/,
    );
    expect(
      toRestoreRequest('b1', {
        ...initialRestoreForm(source),
        patches: '[{"target":{"kind":"Service"},"operations":[{"op":"frobnicate","path":"/x"}]}]',
      }).errors.patches,
    ).toMatch(/^patch 0: each operation needs an op/);
  });
});
