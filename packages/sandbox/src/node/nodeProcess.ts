import { ManagedProcess, startProcess } from '../managedProcess';
import { waitFor, WaitForOptions } from '../waitFor';
import { cgroupProcsFiles } from './cgroups';

/**
 * Starts a node process (containerd, kubelet) inside the node's cgroup, in every hierarchy,
 * before it runs a single instruction: a shell writes its own pid into each `cgroup.procs`, then
 * execs the program. Children (containerd's shims) inherit the cgroup, so killing the cgroup tree
 * reaches them, whatever their process group.
 */
export function startInCgroup(options: {
  name: string;
  cgroup: string;
  command: string;
  args: string[];
  logFile: string;
  pidDir: string;
  env?: NodeJS.ProcessEnv;
}): ManagedProcess {
  const script = 'IFS=:; for f in $FERRY_CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; unset FERRY_CGROUP_PROCS IFS; exec "$@"';
  return startProcess({
    name: options.name,
    command: 'sh',
    args: ['-c', script, options.name, options.command, ...options.args],
    env: { ...(options.env ?? process.env), FERRY_CGROUP_PROCS: cgroupProcsFiles(options.cgroup).join(':') },
    logFile: options.logFile,
    pidDir: options.pidDir,
  });
}

/**
 * waitFor, failing at once (with the last log lines) when one of `children` exits meanwhile,
 * instead of waiting out the timeout.
 */
export async function waitWhileRunning<T>(
  children: ManagedProcess[],
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitForOptions,
): Promise<T> {
  let settled = false;
  const exits = children.map(child =>
    child.exited.then(status => {
      if (settled) return undefined as never;
      throw new Error(
        `${child.name} exited (${status.signal ?? status.code}) while waiting for ${options.description}; last log lines:\n${child.logTail()}`,
      );
    }),
  );
  try {
    return await Promise.race([waitFor(check, options), ...exits]);
  } finally {
    settled = true;
  }
}
