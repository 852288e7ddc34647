export { RegistryClient, locationOf } from './RegistryClient';
export type { RegistryClientOptions, RepositoryLocation, Descriptor, FetchedManifest, Reachability } from './RegistryClient';
export { RegistryError, isRegistryError, type RegistryErrorCode } from './errors';
export { parseImageReference, manifestReference, isLoopbackHost, type ImageReference } from './reference';
export { MEDIA_TYPES, MANIFEST_ACCEPT, isIndexMediaType, isImageManifestMediaType } from './mediaTypes';
export {
  readDockerConfigFile,
  credentialsFromDockerConfig,
  dockerConfigSchema,
  type DockerConfig,
  type CredentialLookup,
  type RegistryCredentials,
} from './dockerConfig';
export { parseChallenge, type AuthChallenge } from './challenge';
