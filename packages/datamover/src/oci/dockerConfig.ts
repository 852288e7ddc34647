import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { RegistryError } from './errors';

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Looks up credentials for a registry host (as written in references, with port). */
export type CredentialLookup = (domain: string) => RegistryCredentials | undefined;

const authEntrySchema = z.object({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
});

/** `~/.docker/config.json`, or `.dockerconfigjson` of a `kubernetes.io/dockerconfigjson` Secret. */
export const dockerConfigSchema = z.object({
  auths: z.record(z.string(), authEntrySchema).default({}),
});
export type DockerConfig = z.infer<typeof dockerConfigSchema>;

/** `https://index.docker.io/v1/`, `http://host:5000/v2/`, `host:5000` → the bare host[:port]. */
function normaliseKey(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, '');
  k = k.split('/')[0];
  if (k === 'index.docker.io' || k === 'registry-1.docker.io') return 'docker.io';
  return k.toLowerCase();
}

/** Credentials per host from a parsed docker config; entries without usable credentials are skipped. */
export function credentialsFromDockerConfig(config: DockerConfig): CredentialLookup {
  const table = new Map<string, RegistryCredentials>();
  for (const [key, entry] of Object.entries(config.auths)) {
    let username = entry.username;
    let password = entry.password;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i > 0) {
        username = decoded.slice(0, i);
        password = decoded.slice(i + 1);
      }
    }
    if (username && password !== undefined) table.set(normaliseKey(key), { username, password });
  }
  return domain => table.get(normaliseKey(domain));
}

/** Reads a docker config JSON file; a missing, unreadable or malformed file is an error naming it. */
export async function readDockerConfigFile(file: string): Promise<CredentialLookup> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new RegistryError('UNAUTHORIZED', `cannot read registry credentials from ${file} (${(e as NodeJS.ErrnoException).code})`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RegistryError('UNAUTHORIZED', `registry credentials file ${file} is not valid JSON`, { cause: e });
  }
  const parsed = dockerConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new RegistryError('UNAUTHORIZED', `registry credentials file ${file}: field "${i.path.join('.')}" ${i.message.toLowerCase()}`);
  }
  return credentialsFromDockerConfig(parsed.data);
}
