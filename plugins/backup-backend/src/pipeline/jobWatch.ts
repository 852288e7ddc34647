import http from 'node:http';
import https from 'node:https';
import type { KubeClients } from './KubeClients';
import type { DatamoverProgress } from './datamoverJob';
import { wakeUps, watchChanges } from './watchChanges';

/**
 * Wakes a waiting loop when a pod of the Job changes (a watch), so the end of a Job is seen at
 * once instead of at the next poll. Best effort: without the watch the loop still polls.
 */
export function watchJobPods(kube: KubeClients, namespace: string, jobName: string) {
  return watchChanges(kube, { path: `/api/v1/namespaces/${namespace}/pods`, query: { labelSelector: `job-name=${jobName}` } });
}

/**
 * Follows a datamover container's log (JSON lines on stdout): the latest progress line, and its
 * final line (a result or an error), which it prints once everything is stored, a second or two
 * before the kubelet reports the container's end (it notices exits on its next relist). Best
 * effort: when the log cannot be followed, the caller waits for the container's end as before.
 */
export function followDatamoverLog(kube: KubeClients, namespace: string, pod: string) {
  const wakeUp = wakeUps();
  let rest = '';
  let progress: DatamoverProgress | undefined;
  let final: Record<string, unknown> | undefined;
  let request: http.ClientRequest | undefined;
  let stopped = false;
  const onData = (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const parsed = parseJsonLine(line);
      if (parsed?.type === 'progress') progress = parsed as unknown as DatamoverProgress;
      else if (parsed?.type === 'result' || parsed?.type === 'error') final = parsed;
      else continue;
      wakeUp.fire();
    }
  };
  // By hand rather than client-node's Log: its stream has no error listener, so a connection
  // reset (or an abort) would be an uncaught error in the backend.
  const open = async () => {
    const cluster = kube.kubeConfig.getCurrentCluster();
    if (!cluster) return;
    const url = new URL(`${cluster.server}/api/v1/namespaces/${namespace}/pods/${pod}/log`);
    url.searchParams.set('container', 'datamover');
    url.searchParams.set('follow', 'true');
    const options: https.RequestOptions = { method: 'GET', headers: {} };
    await kube.kubeConfig.applyToHTTPSOptions(options);
    if (stopped) return;
    const transport = url.protocol === 'https:' ? https : http;
    request = transport.request(url, options, response => {
      if (response.statusCode !== 200) {
        response.resume();
        return;
      }
      response.on('data', onData);
      response.on('error', () => undefined);
    });
    request.on('error', () => undefined); // best effort: the caller still polls
    request.end();
  };
  open().catch(() => undefined);
  return {
    /** The final line, once seen. */
    final: () => final,
    /** The latest progress line not handed out yet. */
    progress: () => {
      const p = progress;
      progress = undefined;
      return p;
    },
    changed: wakeUp.next,
    stop: () => {
      stopped = true;
      request?.destroy();
    },
  };
}

/** A line of the datamover's output (log or termination message) as JSON, if it is a JSON object. */
export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    return JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
