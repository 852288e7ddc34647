import type { LoggerService } from '@backstage/backend-plugin-api';
import { AppLock, LockHeldError, Repository } from '@ferry/repository';
import type { StatusRecorder } from '../controller/StatusRecorder';
import { sleep } from './KubeClients';

const LOCK_LEASE_MS = 60_000;
const LOCK_WAIT_MS = 30 * 60_000;

/** The application's repository lock, renewed until released. */
export interface HeldAppLock {
  lock: AppLock;
  release(): Promise<void>;
}

/**
 * Takes the application's lock in the repository (DESIGN §3: one committer per application),
 * waiting up to 30 minutes while another backup or a delete holds it (said once in the
 * timeline), and renews it every third of its 60 s lease until released.
 */
export async function holdAppLock(options: {
  repository: Repository;
  appId: string;
  /** Who holds it, in words (shown to whoever waits for it). */
  owner: string;
  recorder: StatusRecorder;
  logger: LoggerService;
}): Promise<HeldAppLock> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let told = false;
  let lock: AppLock;
  for (;;) {
    try {
      lock = await AppLock.acquire({
        target: options.repository.target,
        app: options.appId,
        owner: options.owner,
        leaseMs: LOCK_LEASE_MS,
      });
      break;
    } catch (error) {
      if (!(error instanceof LockHeldError) || Date.now() > deadline) throw error;
      if (!told) {
        told = true;
        await options.recorder.event('Waiting', `Waiting for the application's lock: ${error.message}`);
      }
      await sleep(5000);
    }
  }
  const timer = setInterval(() => {
    lock.renew().catch(error => options.logger.warn(`Could not renew the lock of ${options.appId}: ${error}`));
  }, LOCK_LEASE_MS / 3);
  return {
    lock,
    release: async () => {
      clearInterval(timer);
      await lock.release().catch(() => undefined);
    },
  };
}
