import type { Repository } from '@ferry/repository';
import { DatamoverError } from '../errors';
import { backupImages } from '../image/backupImages';
import { checkImages } from '../image/checkImages';
import { parsePlatforms } from '../image/platforms';
import { restoreImages } from '../image/restoreImages';
import { readDockerConfigFile, type CredentialLookup } from '../oci/dockerConfig';
import { parseImageReference } from '../oci/reference';
import { RegistryClient } from '../oci/RegistryClient';

/** Flags of the `image` commands (each also `FERRY_<FLAG>`). */
export const IMAGE_FLAGS = {
  images: { type: 'string' },
  platforms: { type: 'string' },
  registry: { type: 'string' },
  repository: { type: 'string' },
  'override-if-exist': { type: 'boolean' },
  'registry-auth-file': { type: 'string' },
  'insecure-registries': { type: 'string' },
  'timeout-seconds': { type: 'string' },
} as const;

export const IMAGE_USAGE = `  image backup    --app A --backup-id ID --images REF[,REF…] [--platforms os/arch[,…]]
  image restore   --app A --backup-id ID --registry HOST[:PORT] --repository PREFIX
                  [--images REF,…] [--override-if-exist]
  image check     --images REF[,REF…] [--timeout-seconds N]
  (registry credentials: --registry-auth-file / FERRY_REGISTRY_AUTH_FILE, a docker config JSON;
   plain-http hosts: --insecure-registries / FERRY_INSECURE_REGISTRIES, comma-separated)`;

export interface FlagReader {
  get(flag: string): string | undefined;
  need(flag: string): string;
  flag(name: string): boolean;
}

const list = (v: string | undefined) => (v ?? '').split(',').map(s => s.trim()).filter(s => s !== '');

/** `--images`, each entry checked as an image reference (a bad one is a usage error naming it). */
function imageList(f: FlagReader, required: boolean): string[] {
  const images = list(required ? f.need('images') : f.get('images'));
  if (required && images.length === 0) throw new DatamoverError('USAGE', '--images is empty (or FERRY_IMAGES)');
  for (const i of images) {
    try {
      parseImageReference(i);
    } catch (e) {
      throw new DatamoverError('USAGE', `--images entry "${i}": ${(e as Error).message}`);
    }
  }
  return images;
}

async function clientFrom(f: FlagReader): Promise<RegistryClient> {
  const authFile = f.get('registry-auth-file');
  let credentials: CredentialLookup | undefined;
  if (authFile) {
    try {
      credentials = await readDockerConfigFile(authFile);
    } catch (e) {
      throw new DatamoverError('CREDENTIALS_INVALID', (e as Error).message, { cause: e });
    }
  }
  const timeout = f.get('timeout-seconds');
  const timeoutMs = timeout === undefined ? undefined : Number(timeout) * 1000;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new DatamoverError('USAGE', `--timeout-seconds ${timeout} must be a positive number`);
  return new RegistryClient({ credentials, insecureRegistries: list(f.get('insecure-registries')), timeoutMs });
}

/** Checks flags of an image command before anything is opened (exit 2 names the flag). */
export function validateImageFlags(command: string, f: FlagReader): void {
  if (command === 'image backup') {
    f.need('app');
    f.need('backup-id');
    imageList(f, true);
    parsePlatforms(list(f.get('platforms')));
  } else if (command === 'image restore') {
    f.need('app');
    f.need('backup-id');
    const registry = f.need('registry');
    const prefix = f.need('repository');
    try {
      parseImageReference(`${registry}/${prefix.replace(/^\/+|\/+$/g, '')}/x:y`);
    } catch (e) {
      throw new DatamoverError('USAGE', `--registry "${registry}" / --repository "${prefix}" do not form an image name: ${(e as Error).message}`);
    }
    if (registry.includes('/')) throw new DatamoverError('USAGE', `--registry "${registry}" must be host[:port], without a path`);
    imageList(f, false);
  } else if (command === 'image check') {
    imageList(f, true);
  }
}

export async function runImageCheck(f: FlagReader): Promise<object> {
  const timeout = f.get('timeout-seconds');
  return checkImages({ client: await clientFrom(f), images: imageList(f, true), timeoutMs: timeout ? Number(timeout) * 1000 : undefined });
}

export async function runImageCommand(
  command: string,
  o: { repo: Repository; flags: FlagReader; progress: (e: object) => void; signal?: AbortSignal },
): Promise<object> {
  const f = o.flags;
  const client = await clientFrom(f);
  if (command === 'image backup') {
    const platforms = list(f.get('platforms'));
    return backupImages({
      repo: o.repo,
      app: f.need('app'),
      backupId: f.need('backup-id'),
      images: imageList(f, true),
      client,
      platforms: platforms.length > 0 ? parsePlatforms(platforms) : undefined,
      progress: o.progress,
      signal: o.signal,
    });
  }
  return restoreImages({
    repo: o.repo,
    app: f.need('app'),
    backupId: f.need('backup-id'),
    client,
    registry: f.need('registry'),
    repository: f.need('repository'),
    images: imageList(f, false),
    overrideIfExist: f.flag('override-if-exist'),
    progress: o.progress,
  });
}
