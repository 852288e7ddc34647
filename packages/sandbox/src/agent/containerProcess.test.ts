import { V1Pod } from '@kubernetes/client-node';
import { bubblewrapArgs, containerCommand, ContainerLaunch } from './containerProcess';
import { PreparedVolume } from './podVolumes';

function launch(overrides: Partial<ContainerLaunch['container']>, volumes = new Map<string, PreparedVolume>()): ContainerLaunch {
  const pod: V1Pod = { metadata: { name: 'p', namespace: 'n', uid: 'u' }, spec: { containers: [] } };
  return {
    pod,
    container: { name: 'c', image: 'ferry.io/datamover:dev', ...overrides },
    volumes,
    env: { TARGET: 's3://bucket' },
    baseEnv: {},
    binDirs: [],
    entrypoint: ['ferry-datamover'],
    containerDir: '/tmp/c',
    logFile: '/tmp/c.log',
  };
}

const pairs = (args: string[], flag: string) =>
  args.flatMap((arg, i) => (arg === flag ? [[args[i + 1], args[i + 2]]] : []));

describe('containerCommand', () => {
  it('uses the image entrypoint without command, and expands $(VAR) in args', () => {
    expect(containerCommand(launch({ args: ['backup', '--to', '$(TARGET)'] }))).toEqual([
      'ferry-datamover',
      'backup',
      '--to',
      's3://bucket',
    ]);
    expect(containerCommand(launch({ command: ['sh', '-c'], args: ['echo $(TARGET)'] }))).toEqual(['sh', '-c', 'echo s3://bucket']);
  });
});

describe('bubblewrapArgs', () => {
  const claim = (mode: 'Filesystem' | 'Block'): PreparedVolume => ({
    kind: 'claim',
    claim: `claim-${mode}`,
    volumeMode: mode,
    imageFile: `/data/${mode}.img`,
    filesDir: `/data/${mode}.files`,
  });

  it('binds block claims at devicePath, filesystem claims at mountPath, and the termination log', () => {
    const volumes = new Map([
      ['src', claim('Block')],
      ['work', claim('Filesystem')],
    ]);
    const args = bubblewrapArgs(
      launch(
        {
          volumeDevices: [{ name: 'src', devicePath: '/dev/ferry-src' }],
          volumeMounts: [{ name: 'work', mountPath: '/var/run/ferry' }],
          terminationMessagePath: '/tmp/term',
        },
        volumes,
      ),
      '/tmp/c/termination-log',
    );
    const binds = pairs(args, '--bind');
    expect(binds).toContainEqual(['/data/Block.img', '/dev/ferry-src']);
    expect(binds).toContainEqual(['/data/Filesystem.files', '/run/ferry']); // /var/run is /run
    expect(binds).toContainEqual(['/tmp/c/termination-log', '/tmp/term']);
  });

  it('refuses a Block claim in volumeMounts and a Filesystem claim in volumeDevices', () => {
    const volumes = new Map([
      ['b', claim('Block')],
      ['f', claim('Filesystem')],
    ]);
    expect(() => bubblewrapArgs(launch({ volumeMounts: [{ name: 'b', mountPath: '/b' }] }, volumes), '/t')).toThrow(
      'claim claim-Block is a Block volume: use volumeDevices, not volumeMounts',
    );
    expect(() => bubblewrapArgs(launch({ volumeDevices: [{ name: 'f', devicePath: '/dev/f' }] }, volumes), '/t')).toThrow(
      'claim claim-Filesystem is a Filesystem volume: volumeDevices needs a Block volume',
    );
  });

  it('shadows the nearest existing host folder of a missing mount point with a tmpfs', () => {
    const volumes = new Map<string, PreparedVolume>([['s', { kind: 'directory', path: '/tmp' }]]);
    const args = bubblewrapArgs(launch({ volumeMounts: [{ name: 's', mountPath: '/etc/ferry-test-missing/x' }] }, volumes), '/t');
    const tmpfs = args.indexOf('--tmpfs', args.indexOf('/run') + 1);
    expect(args[tmpfs + 1]).toBe('/etc');
    expect(pairs(args, '--bind')).toContainEqual(['/etc/passwd', '/etc/passwd']);
    expect(args.lastIndexOf('/etc/ferry-test-missing/x')).toBeGreaterThan(tmpfs);
  });
});
