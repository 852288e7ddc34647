import type { Sandbox } from '@ferry/sandbox';
import { execInPod } from '@ferry/sandbox';
import { ext4File, withHydrated } from './qemuChain';

/** Where a marker is read in a backup: application id, pod, backup and stage. */
interface StoredMarker {
  app: string;
  pod: string;
  backupId: string;
  stage: 'pre' | 'post';
}

/** The db container's mount of its `data` claim (the demo chart's), and the markers' folder on it. */
const dataMount = '/var/lib/postgresql/data';
const markerDir = 'ferry-markers';
const hookDir = 'ferry-hooks';

const dataClaim = (pod: string) => `data-${pod}`;

/**
 * Hooks that prove their order by what they write. `mark.sh <stage>`, run in a db container,
 * writes the file `ferry-markers/<stage>` = "<stage> <pod>" into its pod's data volume (an ext4
 * file system on the real node's CSI driver), so a backup's copy of the volume shows which hooks
 * had run when its snapshot was taken (the driver freezes the file system for the snapshot, so
 * what the hook wrote is in it).
 *
 * The script lives on the same volume (`ferry-hooks/`), written there by exec when this is
 * created, so it is in the container for every hook whatever the image holds. The live marker is
 * read by exec; the stored one from the backup's chain hydrated by `qemu-img convert`, read with
 * e2fsprogs' `debugfs` (no mount, nothing of Ferry's in the path).
 */
export async function createHookMarkers(options: { sandbox: Sandbox; namespace: string; pods: string[]; repositoryDir: string }) {
  const { sandbox, namespace, repositoryDir } = options;
  const exec = async (pod: string, command: string[], stdin?: string) => {
    const result = await execInPod(sandbox.kubeConfig, { namespace, pod, container: 'db', command, stdin });
    if (result.exitCode !== 0) throw new Error(`${command.join(' ')} in ${namespace}/${pod} exited with ${result.exitCode}: ${result.stderr}`);
    return result.stdout;
  };
  const markScript = `${dataMount}/${hookDir}/mark.sh`;
  const postExecutable = `${dataMount}/${hookDir}/post-hook`;
  const script = [
    '#!/bin/sh',
    'set -e',
    'stage="$1"',
    'pod="$(cat /proc/sys/kernel/hostname)"',
    `mkdir -p ${dataMount}/${markerDir}`,
    `printf '%s %s' "$stage" "$pod" > ${dataMount}/${markerDir}/"$stage"`,
    'echo "$stage marked $pod"',
    '',
  ].join('\n');
  for (const pod of options.pods) {
    await exec(pod, ['/bin/sh', '-c', `mkdir -p ${dataMount}/${hookDir} && cat > ${markScript} && chmod 755 ${markScript}`], script);
    // An executable without arguments, for a command annotation given as a plain string.
    await exec(pod, ['/bin/sh', '-c', `cat > ${postExecutable} && chmod 755 ${postExecutable}`], `#!/bin/sh\nexec /bin/sh ${markScript} post\n`);
  }

  /** The markers in the backup's copy of a pod's data volume, hydrated once per backup and pod. */
  const stored = new Map<string, Promise<Record<'pre' | 'post', string>>>();
  const readStored = (at: StoredMarker) => {
    const key = `${at.app}/${at.pod}/${at.backupId}`;
    let markers = stored.get(key);
    if (!markers) {
      markers = withHydrated({ repositoryDir, app: at.app, pvc: dataClaim(at.pod), backupId: at.backupId }, async raw => ({
        pre: (await ext4File(raw, `/${markerDir}/pre`)) ?? '',
        post: (await ext4File(raw, `/${markerDir}/post`)) ?? '',
      }));
      stored.set(key, markers);
    }
    return markers;
  };

  return {
    /** `["/bin/sh", "<mark.sh>", "pre"]`. */
    preCommand: ['/bin/sh', markScript, 'pre'],
    /** One executable that marks the post stage. */
    postExecutable,
    /** What mark.sh writes for a stage and pod. */
    mark: (stage: 'pre' | 'post', pod: string) => `${stage} ${pod}`,
    /** Removes every marker from the live volumes. */
    async clear() {
      for (const pod of options.pods) await exec(pod, ['/bin/rm', '-rf', `${dataMount}/${markerDir}`]);
    },
    /** The marker of a stage in the live volume ('' when none was written since `clear`). */
    async live(pod: string, stage: 'pre' | 'post') {
      return exec(pod, ['/bin/sh', '-c', `cat ${dataMount}/${markerDir}/${stage} 2>/dev/null || true`]);
    },
    /** The marker of a stage in the backup's copy of the volume ('' when none). */
    async stored(at: StoredMarker) {
      return (await readStored(at))[at.stage];
    },
  };
}

export type HookMarkers = Awaited<ReturnType<typeof createHookMarkers>>;
