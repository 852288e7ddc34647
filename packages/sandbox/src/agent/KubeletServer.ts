import fs from 'node:fs';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { CertPair } from '../pki';
import { bufferMessages } from './execSession';
import { readPodLogFile } from './Kubelet';
import type { Kubelet } from './Kubelet';

/** Remote-command protocols served for exec (binary channels; v5 adds closing stdin). */
const execProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

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
 * `kubectl logs` and client-node's log API work through the apiserver; `/exec/<ns>/<pod>/<container>`
 * over WebSocket (v5/v4.channel.k8s.io: the apiserver runs with TranslateStreamCloseWebsocketRequests
 * off, so it passes WebSockets through instead of translating them to SPDY); and `/healthz`.
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
  const sockets$ = new WebSocketServer({
    noServer: true,
    handleProtocols: protocols => execProtocols.find(p => protocols.has(p)) ?? false,
  });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    const match = /^\/exec\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!match) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    const [namespace, pod, container] = match.slice(1).map(decodeURIComponent);
    const command = url.searchParams.getAll('command');
    // The apiserver names the streams input/output/error towards kubelets (stdin/... from clients).
    const flag = (...names: string[]) => names.some(n => ['1', 'true'].includes(url.searchParams.get(n) ?? ''));
    sockets$.handleUpgrade(request, socket, head, ws => {
      const inbox = bufferMessages(ws);
      options.kubelet
        .exec({ namespace, pod, container, command, stdin: flag('input', 'stdin'), socket: ws, inbox })
        .catch(error => {
          ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ metadata: {}, status: 'Failure', message: String(error) }))]));
          ws.close(1000);
        });
    });
  });
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
      for (const client of sockets$.clients) client.terminate();
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
    if (runner.isFinished(container) && text.length === sent) {
      clearInterval(timer);
      response.end();
    }
  }, 200);
  response.on('close', () => clearInterval(timer));
}
