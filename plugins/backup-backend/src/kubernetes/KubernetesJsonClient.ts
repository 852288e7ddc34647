import { ApiException, KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';

export interface ObjectList {
  apiVersion?: string;
  kind?: string;
  metadata?: { continue?: string; resourceVersion?: string };
  items: KubernetesObject[];
}

const PAGE_SIZE = 500;

/**
 * JSON access to any API path with a KubeConfig's credentials and TLS settings.
 *
 * Backups need objects exactly as the API server returns them. The typed clients of
 * @kubernetes/client-node deserialize built-in kinds into generated models, which drops fields the
 * models do not know (newer API fields, alpha fields) and turns timestamps into Dates; a backup
 * would silently lose data. This client keeps the JSON as it is; everything else (auth, CA,
 * client certificates) comes from client-node's `applyToHTTPSOptions`.
 */
export class KubernetesJsonClient {
  private requestOptions?: Promise<https.RequestOptions>;
  private readonly pageSize: number;

  constructor(
    private readonly kubeConfig: KubeConfig,
    options: { pageSize?: number } = {},
  ) {
    this.pageSize = options.pageSize ?? PAGE_SIZE;
  }

  /** Credentials and TLS settings, resolved once per client so its requests share one agent. */
  private options(): Promise<https.RequestOptions> {
    if (!this.requestOptions) {
      const options: https.RequestOptions = {};
      this.requestOptions = this.kubeConfig.applyToHTTPSOptions(options).then(() => options);
      this.requestOptions.catch(() => {
        this.requestOptions = undefined;
      });
    }
    return this.requestOptions;
  }

  get server(): string {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) {
      throw new Error('the kube config has no current cluster');
    }
    return cluster.server;
  }

  /** GET of an API path (`/api/v1/...`, `/apis/...`), parsed as JSON. */
  get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    return this.request<T>({ method: 'GET', path, query });
  }

  /** POST (create) of a JSON object. */
  post<T>(path: string, body: unknown, query: Record<string, string | undefined> = {}): Promise<T> {
    return this.request<T>({ method: 'POST', path, query, body });
  }

  /** PUT (replace) of a JSON object; conflicts on a stale resourceVersion (409). */
  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>({ method: 'PUT', path, body });
  }

  /** PATCH with the given patch type (merge, strategic merge, or server-side apply). */
  patch<T>(options: {
    path: string;
    body: unknown;
    type: 'merge' | 'apply';
    query?: Record<string, string | undefined>;
  }): Promise<T> {
    const contentType =
      options.type === 'apply' ? 'application/apply-patch+yaml' : 'application/merge-patch+json';
    return this.request<T>({
      method: 'PATCH',
      path: options.path,
      query: options.query,
      body: options.body,
      contentType,
    });
  }

  delete<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    return this.request<T>({ method: 'DELETE', path, query });
  }

  private async request<T>(call: {
    method: string;
    path: string;
    query?: Record<string, string | undefined>;
    body?: unknown;
    contentType?: string;
  }): Promise<T> {
    const { method, path } = call;
    const url = new URL(this.server);
    url.pathname = `${url.pathname.replace(/\/$/, '')}${path}`;
    for (const [key, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const base = await this.options();
    const payload = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
    const options: https.RequestOptions = {
      ...base,
      method,
      headers: {
        ...base.headers,
        accept: 'application/json',
        ...(payload
          ? { 'content-type': call.contentType ?? 'application/json', 'content-length': payload.length }
          : {}),
      },
    };
    const transport = url.protocol === 'http:' ? http : https;
    if (url.protocol === 'http:') {
      delete options.agent;
    }
    return new Promise<T>((resolve, reject) => {
      const request = transport.request(url, options, response => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = response.statusCode ?? 0;
          if (status < 200 || status > 299) {
            reject(new ApiException(status, `${method} ${path} failed`, text, flattenHeaders(response.headers)));
            return;
          }
          try {
            resolve((text ? JSON.parse(text) : undefined) as T);
          } catch (error) {
            reject(new Error(`${method} ${path} returned invalid json: ${String(error)}`));
          }
        });
      });
      request.setTimeout(30_000, () => {
        request.destroy(Object.assign(new Error(`${method} ${path} timed out`), { code: 'ETIMEDOUT' }));
      });
      request.on('error', reject);
      request.end(payload);
    });
  }

  /** Every item of a collection, page by page; items get `apiVersion` and `kind` filled in. */
  async list(options: {
    path: string;
    apiVersion: string;
    kind: string;
    labelSelector?: string;
  }): Promise<KubernetesObject[]> {
    const items: KubernetesObject[] = [];
    let continueToken: string | undefined;
    do {
      const page = await this.get<ObjectList>(options.path, {
        labelSelector: options.labelSelector,
        limit: String(this.pageSize),
        continue: continueToken,
      });
      for (const item of page.items ?? []) {
        items.push({ apiVersion: options.apiVersion, kind: options.kind, ...item });
      }
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    return items;
  }
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) result[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return result;
}
