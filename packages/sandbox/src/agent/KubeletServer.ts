import fs from 'node:fs';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import { CertPair } from '../pki';
import { readPodLogFile } from './Kubelet';
import type { Kubelet } from './Kubelet';

export type KubeletServerOptions = {
  kubelet: Kubelet;
  dataDir: string;
  tls: CertPair;
  /** CA that signs the apiserver's kubelet client certificate. */
  clientCa: string;
  port: number;
};

/**
 * The node agent's kubelet endpoint on 127.0.0.1 (HTTPS, client certificates of the sandbox CA
 * only): `/containerLogs/<ns>/<pod>/<container>` (tailLines, limitBytes, follow) so that
 * `kubectl logs` and client-node's log API work through the apiserver, and `/healthz`.
 */
export async function startKubeletServer(options: KubeletServerOptions): Promise<{ port: number; close(): Promise<void> }> {
  const server = https.createServer(
    {
      cert: fs.readFileSync(options.tls.cert),
      key: fs.readFileSync(options.tls.key),
      ca: fs.readFileSync(options.clientCa),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (request, response) => {
      const url = new URL(request.url ?? '/', 'https://127.0.0.1');
      if (url.pathname === '/healthz') {
        response.end('ok');
        return;
      }
      const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (!match || request.method !== 'GET') {
        response.statusCode = 404;
        response.end('the ferry sandbox kubelet serves only /containerLogs and /healthz\n');
        return;
      }
      const [namespace, pod, container] = match.slice(1).map(decodeURIComponent);
      serveLog({ options, namespace, pod, container, url, response });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('secureConnection', socket => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>(resolve => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function selectLog(text: string, url: URL): string {
  let result = text;
  const tail = url.searchParams.get('tailLines');
  if (tail !== null) {
    const count = Math.max(0, Number(tail) || 0);
    const lines = result.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    result = count === 0 ? '' : lines.slice(-count).map(line => `${line}\n`).join('');
  }
  const limit = url.searchParams.get('limitBytes');
  if (limit !== null) result = Buffer.from(result).subarray(0, Number(limit)).toString();
  return result;
}

function serveLog(args: {
  options: KubeletServerOptions;
  namespace: string;
  pod: string;
  container: string;
  url: URL;
  response: import('node:http').ServerResponse;
}) {
  const { options, namespace, pod, container, url, response } = args;
  const read = () => readPodLogFile({ dataDir: options.dataDir, namespace, pod, container }) ?? '';
  response.setHeader('content-type', 'text/plain; charset=utf-8');
  const initial = read();
  response.write(selectLog(initial, url));
  const runner = options.kubelet.runnerFor(namespace, pod);
  if (url.searchParams.get('follow') !== 'true' || !runner) {
    response.end();
    return;
  }
  let sent = Buffer.byteLength(initial);
  const timer = setInterval(() => {
    const text = Buffer.from(read());
    if (text.length > sent) {
      response.write(text.subarray(sent));
      sent = text.length;
    }
    if (!runner.isRunning(container) && text.length === sent) {
      clearInterval(timer);
      response.end();
    }
  }, 200);
  response.on('close', () => clearInterval(timer));
}
