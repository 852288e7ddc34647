import type { OperationPhase } from '@ferry/plugin-backup-common';
import { isTerminalPhase } from '@ferry/plugin-backup-common';
import type { Request, Response } from 'express';

/**
 * Server-sent events of an operation's progress: a `progress` event with the whole detail each
 * time it changes (read every `intervalMs` from the index, so any replica can serve it), then
 * `end` once the phase is terminal. Stops when the client goes away.
 */
export async function streamOperation<
  T extends { phase: OperationPhase },
>(options: {
  req: Request;
  res: Response;
  load: () => Promise<T>;
  intervalMs?: number;
}): Promise<void> {
  const { req, res } = options;
  let detail = await options.load();
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  let closed = false;
  req.on('close', () => {
    closed = true;
  });
  let last = '';
  while (!closed) {
    const json = JSON.stringify(detail);
    if (json !== last) {
      res.write(`event: progress\ndata: ${json}\n\n`);
      last = json;
    }
    if (isTerminalPhase(detail.phase)) {
      res.write('event: end\ndata: {}\n\n');
      break;
    }
    await new Promise(resolve =>
      setTimeout(resolve, options.intervalMs ?? 1000),
    );
    detail = await options.load();
  }
  res.end();
}
