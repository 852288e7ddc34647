#!/usr/bin/env node
/* eslint-disable no-console */
// The sandbox CLI: `start` (foreground until Ctrl-C), `stop`, `build`, `build-images`. See ../README.md.
require('@backstage/cli/config/nodeTransform.cjs');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const packageRoot = path.resolve(__dirname, '..');
const repoRoot = path.resolve(packageRoot, '..', '..');

const usage = `usage: npm run sandbox -- <command> [options]
  start   start the sandbox and keep it running until Ctrl-C (builds missing binaries first; root only):
          control plane, S3 server, OCI registry and the real node (kubelet, containerd, runc, CNI,
          the CSI driver sandbox.ferry.io); sandbox.json names its host address, CRI endpoint,
          crictl command and images
            --data-dir <dir>   state folder (default .sandbox)
            --crd-dir <dir>    apply every *.yaml of <dir> (repeatable; default plugins/backup-backend/crds when present)
            --keep             keep the state of the previous run (default: start fresh)
            --app-config <f>   when ready, write a Backstage config fragment to <f>: a Kubernetes
                               cluster 'sandbox' (URL, CA, cluster-admin service-account token) and
                               what Ferry needs on this node (datamover image, insecure registry)
            --cluster-name <n> name of that cluster entry (default sandbox)
            --demo             helm-install test/fixtures/charts/demo as release 'demo' in namespace 'demo':
                               PostgreSQL with rows in table orders, a web server, real containers
  stop    stop a sandbox started by 'start' in another terminal, or reap one that crashed (--data-dir as above)
  build   build the pinned binaries (scripts/build-binaries.sh)
  build-images  build the node's images (pause, datamover, demo app), cached by their inputs`;

function build() {
  const result = spawnSync('bash', [path.join(packageRoot, 'scripts', 'build-binaries.sh')], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

async function start(values) {
  const sandboxApi = require('../src/index.ts');
  try {
    const names = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'versitygw', 'helm', 'kubectl', 'kubelet', 'crictl'];
    for (const name of names) sandboxApi.binaryPath(name);
    for (const name of ['csi-provisioner', 'csi-snapshotter', 'snapshot-controller']) sandboxApi.csiBinaryPath(name);
  } catch {
    build();
  }
  const dataDir = path.resolve(values['data-dir'] ?? path.join(repoRoot, '.sandbox'));
  const defaultCrds = path.join(repoRoot, 'plugins', 'backup-backend', 'crds');
  const crdDirs = values['crd-dir'] ?? (fs.existsSync(defaultCrds) ? [defaultCrds] : []);
  const sandbox = await sandboxApi.startSandbox({
    dataDir,
    reset: !values.keep,
    crdDirs,
    registry: true,
    node: 'real',
    log: message => console.log(`[sandbox] ${message}`),
  });
  const info = {
    kubeconfig: sandbox.kubeconfigPath,
    apiServer: sandbox.apiServerUrl,
    nodeName: sandbox.nodeName,
    s3: sandbox.s3 && {
      endpoint: sandbox.s3.endpoint,
      region: sandbox.s3.region,
      accessKeyId: sandbox.s3.accessKeyId,
      secretAccessKey: sandbox.s3.secretAccessKey,
    },
    registry: sandbox.registry && { host: sandbox.registry.host, url: sandbox.registry.url },
    node: sandbox.node,
    hostAddress: sandbox.hostAddress,
    criEndpoint: sandbox.criEndpoint,
    crictl: sandbox.criEndpoint && `${sandboxApi.binaryPath('crictl')} --runtime-endpoint ${sandbox.criEndpoint}`,
    images: sandbox.images,
    pid: process.pid,
  };
  if (values.demo) {
    console.log('[sandbox] Installing the demo app (helm release demo in namespace demo)');
    const installed = Date.now();
    const demo = await sandboxApi.installDemoApp(sandbox);
    const states = await Promise.all(demo.dbPods.map(pod => demo.database.tableState({ pod })));
    console.log(
      `[sandbox] Demo app ready in ${((Date.now() - installed) / 1000).toFixed(1)} s: PostgreSQL in ${demo.dbPods.join(', ')} ` +
        `(${states.map(s => s.rows).join(', ')} rows in table ${demo.database.table}), the web server, ` +
        `${demo.written.size} raw Block claims with test bytes`,
    );
  }
  fs.writeFileSync(path.join(dataDir, 'sandbox.json'), `${JSON.stringify(info, null, 2)}\n`);
  if (values['app-config']) {
    await writeAppConfig(sandboxApi, sandbox, values['app-config'], values['cluster-name'] ?? 'sandbox');
  }
  console.log(`[sandbox] Running. KUBECONFIG=${sandbox.kubeconfigPath}`);
  if (sandbox.registry) console.log(`[sandbox] OCI registry ${sandbox.registry.url}`);
  if (sandbox.s3) console.log(`[sandbox] S3 ${sandbox.s3.endpoint} (${sandbox.s3.accessKeyId} / ${sandbox.s3.secretAccessKey})`);
  console.log(`[sandbox] Containers: ${info.crictl} ps`);
  console.log(`[sandbox] Details in ${path.join(dataDir, 'sandbox.json')}; Ctrl-C stops it.`);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log('[sandbox] Stopping...');
    await sandbox.stop();
    fs.rmSync(path.join(dataDir, 'sandbox.json'), { force: true });
    console.log('[sandbox] Stopped.');
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  setInterval(() => undefined, 1 << 30);
}

/** A Backstage config fragment naming the sandbox as a Kubernetes cluster (written atomically). */
async function writeAppConfig(sandboxApi, sandbox, file, clusterName) {
  const { token } = await sandboxApi.createServiceAccountToken(sandbox);
  const ca = fs.readFileSync(path.join(sandbox.dataDir, 'pki', 'ca.crt')).toString('base64');
  const lines = [
    '# Written by `npm run sandbox -- start --app-config`: the sandbox cluster for Backstage.',
    `# S3 server: ${sandbox.s3 ? `${sandbox.s3.endpoint} (access key ${sandbox.s3.accessKeyId}, secret ${sandbox.s3.secretAccessKey}, region ${sandbox.s3.region}, path-style)` : 'not started'}`,
    `# OCI registry: ${sandbox.registry ? sandbox.registry.url : 'not started'}`,
    `# kubeconfig: ${sandbox.kubeconfigPath}`,
    'kubernetes:',
    '  serviceLocatorMethod:',
    '    type: multiTenant',
    '  clusterLocatorMethods:',
    '    - type: config',
    '      clusters:',
    `        - name: ${clusterName}`,
    `          url: ${sandbox.apiServerUrl}`,
    '          authProvider: serviceAccount',
    `          serviceAccountToken: ${token}`,
    `          caData: ${ca}`,
    // Datamover Jobs are real containers: their image comes from the sandbox registry, which
    // listens on the node bridge's address (not loopback) over plain HTTP. Filesystem targets
    // need nothing: datamover pods mount the node's folder (this machine's) at the same path.
    'ferry:',
    '  datamover:',
    `    image: ${JSON.stringify(sandbox.images.datamover)}`,
    '  images:',
    '    insecureRegistries:',
    `      - ${JSON.stringify(sandbox.registry.host)}`,
    '',
  ];
  const target = path.resolve(file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(`${target}.tmp`, lines.join('\n'), { mode: 0o600 });
  fs.renameSync(`${target}.tmp`, target);
  console.log(`[sandbox] Backstage config written to ${target}`);
}

/** Builds (or finds in the cache) the images a node needs, so that the first start does not pay for them. */
async function buildImages() {
  const { buildSandboxImages } = require('../src/images/sandboxImages.ts');
  const built = await buildSandboxImages();
  console.log(`[sandbox] Images ${built.summary}`);
}

async function stop(values) {
  const dataDir = path.resolve(values['data-dir'] ?? path.join(repoRoot, '.sandbox'));
  const lockFile = path.join(dataDir, 'run', 'sandbox.lock');
  if (fs.existsSync(lockFile)) {
    const pid = Number(fs.readFileSync(lockFile, 'utf8').trim());
    try {
      process.kill(pid, 'SIGTERM');
      console.log(`[sandbox] Sent SIGTERM to ${pid}`);
      for (let i = 0; i < 150; i++) {
        process.kill(pid, 0);
        await new Promise(resolve => setTimeout(resolve, 100));
      }
      console.log(`[sandbox] ${pid} did not stop within 15 s: killing it`);
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const { killFromPidDir } = require('../src/managedProcess.ts');
  const killed = killFromPidDir(path.join(dataDir, 'run'));
  if (killed > 0) console.log(`[sandbox] Killed ${killed} left-over process group(s)`);
  // Real nodes of dead sandbox processes: processes, mounts, bridges, cgroups (by their records).
  const { reapDeadSandboxNodes } = require('../src/node/reap.ts');
  await reapDeadSandboxNodes(message => console.log(`[sandbox] ${message}`));
  fs.rmSync(lockFile, { force: true });
  console.log('[sandbox] Stopped.');
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string' },
      'crd-dir': { type: 'string', multiple: true },
      keep: { type: 'boolean' },
      demo: { type: 'boolean' },
      'app-config': { type: 'string' },
      'cluster-name': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(usage);
    return;
  }
  if (command === 'start') {
    await start(values);
  } else if (command === 'stop') {
    await stop(values);
  } else if (command === 'build') {
    build();
  } else if (command === 'build-images') {
    await buildImages();
  } else {
    console.error(`unknown command '${command}'\n${usage}`);
    process.exit(2);
  }
}

main().catch(error => {
  console.error(`[sandbox] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
