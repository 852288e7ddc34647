import { ferryConfigSchema } from '../config/FerryConfig';
import { appEntity } from './__testUtils__/fakes';
import { selectPolicyEntities } from './selectPolicyEntities';

const ferryConfig = ferryConfigSchema.parse({
  targets: [{ name: 'local', type: 'filesystem', path: '/tmp/x' }],
  policies: [
    { name: 'nightly', schedule: '0 2 * * *', filter: { 'spec.lifecycle': 'production' } },
    { name: 'hourly', schedule: '0 * * * *' },
    { name: 'catch-all', schedule: '0 3 * * *', filter: { kind: 'component' } },
  ],
});
const prod = appEntity('shop');
const experimental = appEntity('lab', { lifecycle: 'experimental' });
const namesHourly = appEntity('cart', { annotations: { 'ferry.io/policy': 'hourly' } });
const bare = { ...appEntity('bare'), metadata: { name: 'bare', namespace: 'default' } };
const badNamespace = appEntity('broken', { annotations: { 'ferry.io/namespace': 'Not_A_Namespace' } });
const all = [prod, experimental, namesHourly, bare, badNamespace];
const policy = (name: string) => ferryConfig.policies.find(p => p.name === name)!;
const select = (name: string, entities = all) =>
  selectPolicyEntities({ entities, policy: policy(name), clusters: ['sandbox'], ferryConfig });


describe('selectPolicyEntities', () => {
  it('selects the entities whose first matching filter is the policy', () => {
    const { selected } = select('nightly');
    expect(selected.map(t => t.entityRef)).toEqual(['component:default/shop']);
    expect(selected[0]).toMatchObject({ appId: 'component.default.shop', cluster: 'sandbox', namespace: 'shop', policy: 'nightly' });
  });

  it('gives a policy without filter only the entities that name it', () => {
    expect(select('hourly').selected.map(t => t.entityRef)).toEqual(['component:default/cart']);
  });

  it('leaves an entity to the first policy that matches, as the API does', () => {
    // shop matches nightly and catch-all: nightly comes first. cart names hourly.
    expect(select('catch-all').selected.map(t => t.entityRef)).toEqual(['component:default/lab']);
  });

  it('ignores entities without annotations and reports unresolvable ones meant for the policy', () => {
    const { unresolved } = select('nightly');
    expect(unresolved).toEqual([
      { entityRef: 'component:default/broken', reason: expect.stringMatching(/is not a valid namespace name/) },
    ]);
    expect(select('hourly').unresolved).toEqual([]);
  });

  it('selects nothing from an empty catalog', () => {
    expect(select('nightly', [])).toEqual({ selected: [], unresolved: [] });
  });
});
