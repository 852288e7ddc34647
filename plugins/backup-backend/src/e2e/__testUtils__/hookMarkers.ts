import type { Sandbox } from '@ferry/sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const PRE_OFFSET = 8 * 1024 * 1024;
const POST_OFFSET = PRE_OFFSET + 4096;
const MARK_BYTES = 32;
const OFFSETS = { pre: PRE_OFFSET, post: POST_OFFSET } as const;

/** Where a marker is read in a backup: application id, pod, backup and stage. */
interface StoredMarker {
  app: string;
  pod: string;
  backupId: string;
  stage: 'pre' | 'post';
}

const dataClaim = (pod: string) => `data-${pod}`;
const zeros = Buffer.alloc(MARK_BYTES);

/**
 * Hooks that prove their order by what they write. `mark.sh <stage>` writes "<stage> <pod>" at
 * the stage's offset of its pod's data volume, so a backup's volume shows which hooks had run
 * when its snapshot was taken.
 *
 * On the sandbox's simulated node a Filesystem claim mounted into a pod is a plain folder that is
 * not part of snapshots (packages/sandbox README), so the script writes into the claim's backing
 * file on the host, which the exec'd command sees (the host's folders are bound into it), and
 * finds its pod by the host name of its UTS namespace, which is the pod's name. On a node with
 * real file systems it would write a file under the volume's mount instead.
 */
export async function createHookMarkers(options: {
  sandbox: Sandbox;
  namespace: string;
  pods: string[];
  hookDir: string;
  repositoryDir: string;
}) {
  const { sandbox, namespace, hookDir, repositoryDir } = options;
  const volumes = await Promise.all(
    options.pods.map(async pod => [pod, await sandbox.claimVolumePath({ namespace, claim: dataClaim(pod) })]),
  );
  const markScript = path.join(hookDir, 'mark.sh');
  fs.writeFileSync(
    markScript,
    [
      '#!/bin/sh',
      'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      'stage="$1"',
      'pod="$(cat /proc/sys/kernel/hostname)"',
      'case "$pod" in',
      ...volumes.map(([pod, file]) => `  ${pod}) volume='${file}' ;;`),
      '  *) echo "no volume for $pod" >&2; exit 2 ;;',
      'esac',
      `case "$stage" in pre) offset=${PRE_OFFSET} ;; post) offset=${POST_OFFSET} ;; esac`,
      `printf '%-${MARK_BYTES}s' "$stage $pod" | dd of="$volume" bs=1 seek="$offset" conv=notrunc status=none`,
      'echo "$stage marked $pod"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  // An executable without arguments, for a command annotation given as a plain string.
  const postExecutable = path.join(hookDir, 'post-hook');
  fs.writeFileSync(postExecutable, `#!/bin/sh\nexec /bin/sh ${markScript} post\n`, { mode: 0o755 });

  const mark = (text: string) => Buffer.from(text.padEnd(MARK_BYTES)).toString();
  const readLive = (pod: string, stage: 'pre' | 'post') =>
    sandbox.readVolume({ namespace, claim: dataClaim(pod), offset: OFFSETS[stage], length: MARK_BYTES });

  /** Bytes of a volume as a backup stored it, hydrated by qemu-img (the oracle) from the target. */
  async function readStored(at: StoredMarker) {
    const { pod, backupId } = at;
    const image = path.join(repositoryDir, 'apps', at.app, 'volumes', dataClaim(pod), `${backupId}.qcow2`);
    const raw = path.join(repositoryDir, `${pod}-${backupId}.raw`);
    await run('qemu-img', ['convert', '-O', 'raw', image, raw]);
    try {
      const handle = await fs.promises.open(raw, 'r');
      const bytes = Buffer.alloc(MARK_BYTES);
      await handle.read(bytes, 0, MARK_BYTES, OFFSETS[at.stage]);
      await handle.close();
      return bytes;
    } finally {
      await fs.promises.rm(raw, { force: true });
    }
  }

  return {
    /** `["/bin/sh", "<mark.sh>", "pre"]`. */
    preCommand: ['/bin/sh', markScript, 'pre'],
    /** One executable that marks the post stage. */
    postExecutable,
    /** What mark.sh writes for a stage and pod, padded as written. */
    mark: (stage: 'pre' | 'post', pod: string) => mark(`${stage} ${pod}`),
    /** Zeroes every marker in the live volumes. */
    async clear() {
      for (const pod of options.pods) {
        for (const offset of Object.values(OFFSETS)) {
          await sandbox.writeVolume({ namespace, claim: dataClaim(pod), offset, data: zeros });
        }
      }
    },
    /** The marker of a stage in the live volume ('' when none was written since `clear`). */
    async live(pod: string, stage: 'pre' | 'post') {
      const bytes = await readLive(pod, stage);
      return bytes.equals(zeros) ? '' : bytes.toString();
    },
    /** The marker of a stage in the backup's copy of the volume ('' when none). */
    async stored(at: StoredMarker) {
      const bytes = await readStored(at);
      return bytes.equals(zeros) ? '' : bytes.toString();
    },
  };
}

export type HookMarkers = Awaited<ReturnType<typeof createHookMarkers>>;
