import request from 'supertest';
import type { Server } from 'node:http';

/** The shop entity of the e2e tests, as API path. */
export const shopPath = '/api/backup/entities/component/default/shop';

/**
 * Polls a backup or restore through the API until it reaches a terminal phase (Completed,
 * PartiallyFailed, Failed) and returns its detail; fails on any other answer than 200 (unless
 * `tolerateMissing`, for a replica that has not indexed it yet) and after `timeoutMs`.
 */
export async function waitForOperation(options: {
  server: Server;
  kind: 'backups' | 'restores';
  id: string;
  entityPath?: string;
  timeoutMs?: number;
  tolerateMissing?: boolean;
}) {
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  for (;;) {
    const response = await request(options.server).get(`${options.entityPath ?? shopPath}/${options.kind}/${options.id}`);
    if (response.status !== 200 && !(options.tolerateMissing && response.status === 404)) {
      throw new Error(`GET ${options.kind}/${options.id} answered ${response.status}: ${JSON.stringify(response.body)}`);
    }
    if (['Completed', 'PartiallyFailed', 'Failed'].includes(response.body.phase)) return response.body;
    if (Date.now() > deadline) {
      const { phase, timeline = [], volumes = [] } = response.body as {
        phase?: string;
        timeline?: Array<{ step: string; message: string }>;
        volumes?: Array<{ pvc: string; phase: string }>;
      };
      const last = timeline.slice(-3).map(t => `${t.step}: ${t.message}`).join('; ');
      const volumeStates = volumes.map(v => `${v.pvc} ${v.phase}`).join(', ');
      throw new Error(`${options.kind} ${options.id} did not finish: still ${phase} (volumes: ${volumeStates || 'none'}; last: ${last})`);
    }
    await new Promise(resolve => setTimeout(resolve, 300));
  }
}
