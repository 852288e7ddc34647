import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { LockHeldError, ObjectNotFoundError } from '../errors';
import { layout } from '../layout';
import type { Target } from '../target/Target';

const lockSchema = z.object({
  owner: z.string(),
  token: z.string(),
  acquiredAt: z.string(),
  expiresAt: z.string(),
});
type LockBody = z.infer<typeof lockSchema>;

export interface AcquireLockOptions {
  target: Target;
  app: string;
  /** Who holds it (shown to the loser). Default: host and pid. */
  owner?: string;
  /** Lease length; renew before it ends. Default 10 minutes. */
  leaseMs?: number;
  /** Pause before confirming a lock taken without an atomic create (or stolen). Default 1 s. */
  confirmDelayMs?: number;
}

/**
 * One writer per application: `apps/<app>/lock` holds an owner, a token and an expiry.
 * Acquire = create-if-absent (filesystem: link(2); S3: PutObject If-None-Match *). A lock past
 * its expiry may be taken over: the stale object is replaced and, after a pause, read back to
 * confirm no other taker won. On S3 servers without conditional writes every acquisition uses
 * that write-pause-confirm lease protocol (documented in the README).
 */
export class AppLock {
  private constructor(
    private readonly target: Target,
    readonly app: string,
    private body: LockBody,
    private readonly leaseMs: number,
  ) {}

  get token(): string {
    return this.body.token;
  }

  get expiresAt(): Date {
    return new Date(this.body.expiresAt);
  }

  static async acquire(o: AcquireLockOptions): Promise<AppLock> {
    const key = layout.lock(o.app);
    const leaseMs = o.leaseMs ?? 10 * 60_000;
    const now = Date.now();
    const body: LockBody = {
      owner: o.owner ?? `${hostname()}:${process.pid}`,
      token: randomBytes(12).toString('hex'),
      acquiredAt: new Date(now).toISOString(),
      expiresAt: new Date(now + leaseMs).toISOString(),
    };
    const text = JSON.stringify(body);
    const atomic = await o.target.supportsAtomicCreate();
    const lock = new AppLock(o.target, o.app, body, leaseMs);
    if (atomic && (await o.target.putIfAbsent(key, text))) return lock;

    const current = await readLock(o.target, key);
    if (current && new Date(current.expiresAt).getTime() > Date.now()) {
      throw new LockHeldError(
        `application ${o.app} is locked by ${current.owner} until ${current.expiresAt}`,
      );
    }
    // absent (non-atomic target) or expired: write ours, then confirm nobody overwrote it
    if (current) await o.target.delete(key);
    if (!atomic || !(await o.target.putIfAbsent(key, text))) {
      // Refused although nothing was there: a versioned bucket whose server counts a delete
      // marker as an object (versitygw; AWS lets the write through). The lease protocol decides.
      if (atomic && (await readLock(o.target, key))) {
        throw new LockHeldError(`application ${o.app} was locked by another writer just now`);
      }
      await o.target.put(key, text);
    }
    await new Promise(r => setTimeout(r, o.confirmDelayMs ?? 1000));
    const after = await readLock(o.target, key);
    if (after?.token !== body.token) {
      throw new LockHeldError(
        `application ${o.app} was locked by ${after?.owner ?? 'another writer'} at the same time`,
      );
    }
    return lock;
  }

  /** Throws unless this lock is still held and unexpired. */
  async check(): Promise<void> {
    const current = await readLock(this.target, layout.lock(this.app));
    if (current?.token !== this.body.token) {
      throw new LockHeldError(`lock of application ${this.app} was lost to ${current?.owner ?? 'nobody'}`);
    }
    if (new Date(current.expiresAt).getTime() <= Date.now()) {
      throw new LockHeldError(`lock of application ${this.app} expired at ${current.expiresAt}`);
    }
  }

  /** Extends the lease. */
  async renew(): Promise<void> {
    await this.check();
    this.body = { ...this.body, expiresAt: new Date(Date.now() + this.leaseMs).toISOString() };
    await this.target.put(layout.lock(this.app), JSON.stringify(this.body));
  }

  async release(): Promise<void> {
    const key = layout.lock(this.app);
    const current = await readLock(this.target, key);
    if (current?.token === this.body.token) await this.target.delete(key);
  }
}

async function readLock(target: Target, key: string): Promise<LockBody | undefined> {
  try {
    const raw = JSON.parse(Buffer.from(await target.get(key)).toString('utf8'));
    const r = lockSchema.safeParse(raw);
    // an unreadable lock is treated as expired: it cannot name a live owner
    return r.success ? r.data : { owner: 'unknown', token: '', acquiredAt: '', expiresAt: new Date(0).toISOString() };
  } catch (e) {
    if (e instanceof ObjectNotFoundError) return undefined;
    throw e;
  }
}
