export { startS3Server } from './s3Server';
export type { S3Server, StartS3ServerOptions } from './s3Server';
export { binaryPath, binaryCacheDir, sandboxVersions } from './binaries';
export type { SandboxBinary, SandboxVersions } from './binaries';
export { startRegistry } from './registry';
export type { Registry, StartRegistryOptions } from './registry';
