import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { CertPair } from './pki';

export type KubeconfigFileOptions = {
  file: string;
  server: string;
  caFile: string;
  user: CertPair;
  /** Cluster, user and context name. */
  name: string;
};

const b64 = (file: string) => fs.readFileSync(file).toString('base64');

/** Writes a self-contained kubeconfig (certificates embedded) for one user. */
export function writeKubeconfigFile(options: KubeconfigFileOptions): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: options.name, cluster: { server: options.server, 'certificate-authority-data': b64(options.caFile) } },
    ],
    users: [
      {
        name: options.name,
        user: {
          'client-certificate-data': b64(options.user.cert),
          'client-key-data': b64(options.user.key),
        },
      },
    ],
    contexts: [{ name: options.name, context: { cluster: options.name, user: options.name } }],
    'current-context': options.name,
  };
  fs.mkdirSync(path.dirname(options.file), { recursive: true });
  fs.writeFileSync(options.file, YAML.stringify(config), { mode: 0o600 });
  return options.file;
}
