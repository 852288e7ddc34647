import { containerdConfig } from './containerd';
import { nodePaths } from './paths';

describe('containerdConfig', () => {
  it('keeps everything under the node folder and sets what this machine needs', () => {
    const paths = nodePaths('/tmp/sb/node');
    const config = containerdConfig({
      paths,
      cgroup: '/ferry-node-0-abc',
      sandboxImage: '10.234.0.1:5000/ferry/pause:3.10.1',
      plainHttpRegistries: ['10.234.0.1:5000'],
      registryAuth: { host: '10.234.0.1:5000', username: 'u', password: 'p"w' },
      pidDir: '/tmp/sb/run',
      log: () => undefined,
    });
    expect(config).toContain('root = "/tmp/sb/node/containerd/root"');
    expect(config).toContain('state = "/tmp/sb/node/containerd/state"');
    expect(config).toContain('address = "/tmp/sb/node/containerd.sock"');
    expect(config).toContain('Root = "/tmp/sb/node/containerd/state/runc"');
    expect(config).toContain('restrict_oom_score_adj = true');
    expect(config).toContain('netns_mounts_under_state_dir = true');
    expect(config).toContain('SystemdCgroup = false');
    expect(config).toContain('sandbox_image = "10.234.0.1:5000/ferry/pause:3.10.1"');
    expect(config).toContain('password = "p\\"w"');
    expect(config).toContain('"io.containerd.internal.v1.opt"');
  });
});
