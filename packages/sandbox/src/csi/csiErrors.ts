import * as grpc from '@grpc/grpc-js';

/** An error answered to the CSI caller with a gRPC status code (CSI spec, "Error Scheme"). */
export class CsiError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'CsiError';
  }
}

export const invalidArgument = (message: string) => new CsiError(grpc.status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new CsiError(grpc.status.NOT_FOUND, message);
export const alreadyExists = (message: string) => new CsiError(grpc.status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string) => new CsiError(grpc.status.FAILED_PRECONDITION, message);
export const outOfRange = (message: string) => new CsiError(grpc.status.OUT_OF_RANGE, message);
export const aborted = (message: string) => new CsiError(grpc.status.ABORTED, message);
export const resourceExhausted = (message: string) => new CsiError(grpc.status.RESOURCE_EXHAUSTED, message);

/** Throws INVALID_ARGUMENT naming the field when a required string is empty. */
export function required(value: string | undefined | null, field: string): string {
  if (!value) throw invalidArgument(`${field} is required`);
  return value;
}

/** A service implementation built from async handlers: errors become gRPC statuses, calls are logged. */
export function unaryHandlers(
  service: string,
  handlers: Record<string, (request: never) => Promise<unknown>>,
  log: (message: string) => void,
): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    implementation[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      handler(call.request as never).then(
        response => callback(null, response),
        (error: unknown) => {
          const code = error instanceof CsiError ? error.code : grpc.status.INTERNAL;
          const message = error instanceof Error ? error.message : String(error);
          log(`CSI ${service}.${name} failed (${grpc.status[code]}): ${message}`);
          callback({ code, details: message });
        },
      );
    };
  }
  return implementation;
}
