import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Key + certificate files of one identity, PEM. */
export type CertPair = { cert: string; key: string };

export type SandboxPki = {
  dir: string;
  ca: CertPair;
  apiserver: CertPair;
  /** CN=ferry-admin, O=system:masters: the kubeconfig's user. */
  admin: CertPair;
  controllerManager: CertPair;
  scheduler: CertPair;
  /** The apiserver's client certificate towards the kubelet (in system:masters). */
  apiserverKubeletClient: CertPair;
  /** Service-account token signing key (private) and its public key. */
  serviceAccountKey: string;
  serviceAccountPub: string;
};

export type IssueCertificateOptions = {
  /** Folder of the new key and certificate (`<file>.key`, `<file>.crt`). */
  dir: string;
  /** The signing CA. */
  ca: CertPair;
  file: string;
  subject: string;
  altNames?: string[];
  usage: 'server' | 'client' | 'both';
};

/** The apiserver's ClusterIP in the sandbox's service range (10.0.0.0/24). */
export const kubernetesServiceIp = '10.0.0.1';

type Leaf = Omit<IssueCertificateOptions, 'dir' | 'ca'>;

const leaves: Record<Exclude<keyof SandboxPki, 'dir' | 'ca' | 'serviceAccountKey' | 'serviceAccountPub'>, Leaf> = {
  apiserver: {
    file: 'apiserver',
    subject: '/CN=kube-apiserver',
    altNames: [
      'IP:127.0.0.1',
      `IP:${kubernetesServiceIp}`,
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
    ],
    usage: 'server',
  },
  admin: { file: 'admin', subject: '/O=system:masters/CN=ferry-admin', usage: 'client' },
  controllerManager: {
    file: 'controller-manager',
    subject: '/CN=system:kube-controller-manager',
    usage: 'client',
  },
  scheduler: { file: 'scheduler', subject: '/CN=system:kube-scheduler', usage: 'client' },
  apiserverKubeletClient: {
    file: 'apiserver-kubelet-client',
    subject: '/O=system:masters/CN=kube-apiserver-kubelet-client',
    usage: 'client',
  },
};

function openssl(args: string[], cwd: string) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(cwd: string, file: string) {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], cwd);
}

/** Issues a new key and a certificate signed by `ca` (ECDSA P-256, 10 years), replacing old files. */
export function issueCertificate(options: IssueCertificateOptions): CertPair {
  const { dir, file } = options;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  newKey(dir, `${file}.key`);
  openssl(['req', '-new', '-key', `${file}.key`, '-subj', options.subject, '-out', `${file}.csr`], dir);
  const usage = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[options.usage];
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${usage}`,
    ...(options.altNames ? [`subjectAltName=${options.altNames.join(',')}`] : []),
  ];
  fs.writeFileSync(path.join(dir, `${file}.ext`), `${ext.join('\n')}\n`);
  openssl(
    ['x509', '-req', '-in', `${file}.csr`, '-CA', options.ca.cert, '-CAkey', options.ca.key, '-CAcreateserial',
      '-days', '3650', '-extfile', `${file}.ext`, '-out', `${file}.crt.tmp`],
    dir,
  );
  fs.renameSync(path.join(dir, `${file}.crt.tmp`), path.join(dir, `${file}.crt`));
  fs.rmSync(path.join(dir, `${file}.csr`), { force: true });
  fs.rmSync(path.join(dir, `${file}.ext`), { force: true });
  return { cert: path.join(dir, `${file}.crt`), key: path.join(dir, `${file}.key`) };
}

/**
 * Creates (or reuses, when already there) a CA and the certificates the sandbox needs, with
 * openssl (ECDSA P-256, 10 years). Files live in `dir`.
 */
export function ensurePki(dir: string): SandboxPki {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = (name: string): CertPair => ({
    cert: path.join(dir, `${name}.crt`),
    key: path.join(dir, `${name}.key`),
  });
  const ca = pair('ca');
  if (!fs.existsSync(ca.cert)) {
    newKey(dir, 'ca.key');
    openssl(
      ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=ferry-sandbox-ca', '-days', '3650', '-out', 'ca.crt.tmp',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'],
      dir,
    );
    fs.renameSync(path.join(dir, 'ca.crt.tmp'), ca.cert);
  }
  const result: Partial<SandboxPki> = { dir, ca };
  for (const [id, leaf] of Object.entries(leaves)) {
    const files = pair(leaf.file);
    if (!fs.existsSync(files.cert)) issueCertificate({ dir, ca, ...leaf });
    (result as Record<string, unknown>)[id] = files;
  }
  const saKey = path.join(dir, 'service-account.key');
  const saPub = path.join(dir, 'service-account.pub');
  if (!fs.existsSync(saPub)) {
    newKey(dir, 'service-account.key');
    openssl(['pkey', '-in', 'service-account.key', '-pubout', '-out', 'service-account.pub'], dir);
  }
  result.serviceAccountKey = saKey;
  result.serviceAccountPub = saPub;
  return result as SandboxPki;
}
