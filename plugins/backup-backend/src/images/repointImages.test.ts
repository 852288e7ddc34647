import type { KubernetesObject } from '@kubernetes/client-node';
import { repointImages } from './repointImages';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    template: {
      spec: {
        initContainers: [{ name: 'init', image: 'old/init:1' }],
        containers: [
          { name: 'web', image: 'old/web:1' },
          { name: 'sidecar', image: 'docker.io/library/busybox:1.36' },
        ],
        imagePullSecrets: [{ name: 'pull' }],
      },
    },
  },
} as KubernetesObject;

const cronJob = {
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: 'nightly', namespace: 'shop' },
  spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'job', image: 'old/web:1' }] } } } } },
} as KubernetesObject;

const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { image: 'old/web:1' } } as KubernetesObject;

describe('repointImages', () => {
  const moved = new Map([
    ['old/web:1', 'registry.dr:5000/ferry/shop/web:1@sha256:aa'],
    ['old/init:1', 'registry.dr:5000/ferry/shop/init:1'],
  ]);

  it('points the containers of every workload that runs a moved image at its new reference', () => {
    const [d, c, m] = repointImages({ objects: [deployment, cronJob, configMap], moved, pullSecret: 'dr-pull' });
    const spec = (d as typeof deployment & { spec: { template: { spec: Record<string, Array<{ name: string; image?: string }>> } } }).spec.template.spec;
    expect(spec.initContainers.map(x => x.image)).toEqual(['registry.dr:5000/ferry/shop/init:1']);
    expect(spec.containers.map(x => x.image)).toEqual([
      'registry.dr:5000/ferry/shop/web:1@sha256:aa',
      'docker.io/library/busybox:1.36',
    ]);
    expect(spec.imagePullSecrets).toEqual([{ name: 'pull' }, { name: 'dr-pull' }]);
    expect(JSON.stringify(c)).toContain('registry.dr:5000/ferry/shop/web:1@sha256:aa');
    expect(m).toBe(configMap);
  });

  it('leaves the input objects unchanged and objects without moved images as they are', () => {
    const before = JSON.stringify(deployment);
    const [d] = repointImages({ objects: [deployment], moved: new Map([['other:1', 'x:1']]) });
    expect(d).toBe(deployment);
    repointImages({ objects: [deployment], moved });
    expect(JSON.stringify(deployment)).toBe(before);
  });

  it('does not add a pull secret twice', () => {
    const [d] = repointImages({ objects: [deployment], moved, pullSecret: 'pull' });
    expect(JSON.stringify(d).match(/"name":"pull"/g)).toHaveLength(1);
  });
});
