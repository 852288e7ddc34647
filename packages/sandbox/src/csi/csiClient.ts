import * as grpc from '@grpc/grpc-js';
import { loadCsiProtos } from './csiProto';

type Callback = (error: grpc.ServiceError | null, response: unknown) => void;
type Unary = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => void;

/** A gRPC error with its status code, as returned by a CSI call. */
export type CsiCallError = grpc.ServiceError;

/** A client of one CSI service (or the registration service) on a unix socket, with promise calls. */
export class CsiServiceClient {
  private readonly client: grpc.Client;

  constructor(
    service: 'identity' | 'controller' | 'node' | 'registration',
    readonly socketPath: string,
  ) {
    const Client = loadCsiProtos()[service];
    this.client = new Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
  }

  call<T = Record<string, unknown>>(method: string, request: object = {}, timeoutMs = 60_000): Promise<T> {
    const fn = (this.client as unknown as Record<string, Unary | undefined>)[method];
    if (typeof fn !== 'function') return Promise.reject(new Error(`no gRPC method ${method}`));
    return new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + timeoutMs);
      fn.call(
        this.client,
        request,
        new grpc.Metadata(),
        { deadline },
        (error, response) => (error ? reject(error) : resolve(response as T)),
      );
    });
  }

  close() {
    this.client.close();
  }
}
