import type { Entity } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import { checkName } from '@ferry/repository';
import { ferryConfigSchema } from '../config/FerryConfig';
import { labelSelectorProblem } from './labelSelector';
import { matchesFilter, resolveApplication } from './resolveApplication';

const ferryConfig = ferryConfigSchema.parse({
  targets: [{ name: 'local', type: 'filesystem', path: '/tmp/x' }],
  policies: [
    { name: 'prod', filter: { kind: 'component', 'spec.lifecycle': 'Production' } },
    { name: 'team-b', filter: { 'spec.owner': 'team-b' } },
    { name: 'manual' },
  ],
});

function entity(annotations: Record<string, string>, extra: Partial<Entity> = {}): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'Shop', namespace: 'default', annotations },
    spec: { type: 'service', owner: 'team-a', lifecycle: 'experimental' },
    ...extra,
  };
}

const resolve = (annotations: Record<string, string>, clusters = ['sandbox'], extra?: Partial<Entity>) =>
  resolveApplication({ entity: entity(annotations, extra), clusters, ferryConfig });

describe('resolveApplication', () => {
  it('maps a helm release with the only cluster and the default namespace', () => {
    expect(resolve({ 'ferry.io/helm-release': 'shop' })).toEqual({
      entityRef: 'component:default/shop',
      appId: 'component.default.shop',
      cluster: 'sandbox',
      namespace: 'default',
      application: { helmReleases: ['shop'], labelSelectors: [], wholeNamespace: false },
    });
  });

  it('gives an app id the repository accepts', () => {
    const { appId } = resolve({ 'ferry.io/helm-release': 'shop' }, ['sandbox'], {
      metadata: { name: 'My_Shop.v2', namespace: 'Team-A', annotations: { 'ferry.io/helm-release': 'shop' } },
    });
    expect(appId).toBe('component.team-a.my_shop.v2');
    expect(checkName('app id', appId)).toBe(appId);
  });

  it('splits comma-separated releases and combines every selector annotation', () => {
    const target = resolve({
      'ferry.io/helm-release': 'shop, shop-db ,',
      'ferry.io/label-selector': 'app in (shop,cart),tier!=cache',
      'backstage.io/kubernetes-label-selector': 'team=a',
      'backstage.io/kubernetes-id': 'shop',
      'backstage.io/kubernetes-namespace': 'shop',
    });
    expect(target.namespace).toBe('shop');
    expect(target.application).toEqual({
      helmReleases: ['shop', 'shop-db'],
      labelSelectors: ['app in (shop,cart),tier!=cache', 'team=a', 'backstage.io/kubernetes-id=shop'],
      wholeNamespace: false,
    });
  });

  it('takes a whole namespace only when nothing else says what to back up', () => {
    expect(resolve({ 'ferry.io/namespace': 'shop' }).application).toEqual({
      helmReleases: [],
      labelSelectors: [],
      wholeNamespace: true,
    });
    expect(resolve({ 'backstage.io/kubernetes-namespace': 'shop' }).application.wholeNamespace).toBe(true);
    expect(resolve({ 'ferry.io/namespace': 'shop', 'backstage.io/kubernetes-id': 'x' }).application.wholeNamespace).toBe(false);
  });

  it('prefers ferry.io/namespace over the kubernetes plugin namespace', () => {
    expect(
      resolve({ 'ferry.io/namespace': 'a', 'backstage.io/kubernetes-namespace': 'b' }).namespace,
    ).toBe('a');
  });

  it('needs ferry.io/cluster when several clusters are configured, and checks it', () => {
    expect(() => resolve({ 'ferry.io/helm-release': 'shop' }, ['a', 'b'])).toThrow(
      'entity component:default/shop must name its cluster with annotation ferry.io/cluster: 2 clusters are configured (a, b)',
    );
    expect(resolve({ 'ferry.io/helm-release': 'shop', 'ferry.io/cluster': 'b' }, ['a', 'b']).cluster).toBe('b');
    expect(() => resolve({ 'ferry.io/helm-release': 'shop', 'ferry.io/cluster': 'c' }, ['a', 'b'])).toThrow(
      "annotation ferry.io/cluster of component:default/shop names cluster 'c', which is not configured in kubernetes.clusterLocatorMethods (known: a, b)",
    );
    expect(() => resolve({ 'ferry.io/helm-release': 'shop' }, [])).toThrow(/no kubernetes clusters are configured/);
  });

  it('refuses an entity that does not say what to back up', () => {
    expect(() => resolve({ 'ferry.io/cluster': 'sandbox' })).toThrow(
      /entity component:default\/shop does not say what to back up: annotate it with one of ferry.io\/helm-release/,
    );
  });

  it('names the annotation of a bad value', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'ferry.io/label-selector': `app=${'x'.repeat(64)}` }, /annotation ferry.io\/label-selector .*invalid label selector: label value/],
      [{ 'backstage.io/kubernetes-label-selector': 'app in ()' }, /annotation backstage.io\/kubernetes-label-selector .*lists no values/],
      [{ 'ferry.io/label-selector': 'a=b,,c=d' }, /empty requirement/],
      [{ 'ferry.io/helm-release': 'Shop_DB' }, /annotation ferry.io\/helm-release .*'Shop_DB' is not a valid helm release name/],
      [{ 'ferry.io/namespace': 'Not_A_Namespace' }, /annotation ferry.io\/namespace .*not a valid namespace name/],
      [{ 'backstage.io/kubernetes-id': 'a b' }, /annotation backstage.io\/kubernetes-id .*not a valid label value/],
      [{ 'ferry.io/helm-release': 'shop', 'ferry.io/policy': 'weekly' }, /annotation ferry.io\/policy .*names policy 'weekly', which is not configured in ferry.policies \(known: prod, team-b, manual\)/],
    ];
    for (const [annotations, message] of cases) {
      expect(() => resolve(annotations)).toThrow(message);
      expect(() => resolve(annotations)).toThrow(InputError);
    }
  });

  it('takes the named policy, else the first whose filter matches, else none', () => {
    expect(resolve({ 'ferry.io/helm-release': 'shop', 'ferry.io/policy': 'manual' }).policy).toBe('manual');
    expect(
      resolve({ 'ferry.io/helm-release': 'shop' }, ['sandbox'], {
        spec: { type: 'service', owner: 'team-b', lifecycle: 'production' },
      }).policy,
    ).toBe('prod');
    expect(
      resolve({ 'ferry.io/helm-release': 'shop' }, ['sandbox'], {
        spec: { type: 'service', owner: 'team-b', lifecycle: 'experimental' },
      }).policy,
    ).toBe('team-b');
    expect(resolve({ 'ferry.io/helm-release': 'shop' }).policy).toBeUndefined();
  });
});

describe('matchesFilter', () => {
  const e = entity({ 'backstage.io/kubernetes-id': 'shop' }, { metadata: { name: 'shop', tags: ['java', 'Payments'], annotations: { 'backstage.io/kubernetes-id': 'shop' } } });
  it('compares dotted paths case-insensitively, arrays by element, namespace defaulting', () => {
    expect(matchesFilter(e, { kind: 'COMPONENT' })).toBe(true);
    expect(matchesFilter(e, { 'metadata.namespace': 'default' })).toBe(true);
    expect(matchesFilter(e, { 'metadata.tags': 'payments' })).toBe(true);
    expect(matchesFilter(e, { 'metadata.annotations.backstage.io/kubernetes-id': 'shop' })).toBe(true);
    expect(matchesFilter(e, { kind: 'component', 'spec.lifecycle': 'production' })).toBe(false);
    expect(matchesFilter(e, { 'spec.missing': 'x' })).toBe(false);
  });
});

describe('labelSelectorProblem', () => {
  it.each(['app=shop', 'app==shop', 'app!=shop', 'app', '!app', 'tier in (a, b)', 'tier notin (a)', 'example.com/app=x,env', 'a='])(
    'accepts %s',
    selector => expect(labelSelectorProblem(selector)).toBeUndefined(),
  );
  it.each(['', '=x', 'app=sh op', 'app in a,b', 'Bad_Prefix.com/app=x', '-app=x', 'app=x,'])('refuses %s', selector =>
    expect(labelSelectorProblem(selector)).toEqual(expect.any(String)),
  );
});
