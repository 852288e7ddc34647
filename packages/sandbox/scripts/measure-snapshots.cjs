#!/usr/bin/env node
/* eslint-disable no-console */
// Where the time of a VolumeSnapshot goes on the sandbox's storage stack (snapshot-controller,
// csi-snapshotter, the driver sandbox.ferry.io), from its creation to readyToUse.
// Usage: bash ../../scripts/run.sh node scripts/measure-snapshots.cjs [--rounds 5] [--big]
//   (root: the node is real). Each round takes one snapshot alone, then four at once (as a
//   backup of the demo app does: Block claims with 64 MiB and 16 MiB of data); --big adds a
//   round of one 4 GiB claim with 10 % data. Every object change is seen through a watch and
//   stamped on arrival; the sidecars' logs (--v=3) give the client-side throttling waits and
//   the driver's log its CreateSnapshot times. --pods adds what a backup does next: four Block
//   claims from the snapshots and a pod on each (datamover image), timed to the container's first
//   command, beside four empty claims for comparison. --fs adds rounds of four snapshots of
//   Filesystem (ext4) claims mounted by running pods that wrote 64 or 16 MiB (the driver
//   freezes the file system for the copy), as the demo app's claims are. Logs are kept in /tmp/ferry-snapshot-times-<time>/.
require('@backstage/cli/config/nodeTransform.cjs');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { CoreV1Api, CustomObjectsApi, Watch } = require('@kubernetes/client-node');
const { startSandbox } = require('../src/index.ts');

const mib = 1024 * 1024;
const ns = 'snapshot-times';
const api = { group: 'snapshot.storage.k8s.io', version: 'v1' };
const beingCreated = 'snapshot.storage.kubernetes.io/volumesnapshot-being-created';

const args = process.argv.slice(2);
const flag = name => args.includes(name);
const option = (name, fallback) => {
  const index = args.indexOf(name);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const rounds = option('--rounds', 5);
const median = values => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : NaN;
};
const s = ms => (ms / 1000).toFixed(2);
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/** Every change of the watched objects, stamped on arrival. */
const events = [];
function record(kind, phase, object) {
  const meta = object.metadata ?? {};
  events.push({
    at: Date.now(),
    kind,
    phase,
    name: meta.name,
    uid: meta.uid,
    finalizers: meta.finalizers ?? [],
    beingCreated: Boolean(meta.annotations?.[beingCreated]),
    deleting: Boolean(meta.deletionTimestamp),
    status: object.status ?? {},
    snapshotRef: object.spec?.volumeSnapshotRef?.name,
  });
}

async function startWatches(kubeConfig) {
  const watch = new Watch(kubeConfig);
  const controllers = [];
  const paths = [
    ['vs', `/apis/snapshot.storage.k8s.io/v1/namespaces/${ns}/volumesnapshots`],
    ['vsc', '/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents'],
    ['pvc', `/api/v1/namespaces/${ns}/persistentvolumeclaims`],
    ['pod', `/api/v1/namespaces/${ns}/pods`],
  ];
  for (const [kind, url] of paths) {
    controllers.push(await watch.watch(url, {}, (phase, object) => record(kind, phase, object), () => undefined));
  }
  return () => controllers.forEach(c => c.abort());
}

async function waitUntil(check, description, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await sleep(20);
  }
}

/** Creates the snapshots at once, waits for readyToUse (seen by the watch), returns their timelines. */
async function takeSnapshots(custom, claims, round) {
  const taken = await Promise.all(
    claims.map(async claim => {
      const name = `${claim}-${round}`;
      const start = Date.now();
      await custom.createNamespacedCustomObject({
        ...api,
        namespace: ns,
        plural: 'volumesnapshots',
        body: {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name },
          spec: { volumeSnapshotClassName: 'ferry-sandbox', source: { persistentVolumeClaimName: claim } },
        },
      });
      return { name, claim, start };
    }),
  );
  for (const snapshot of taken) {
    await waitUntil(
      () => events.find(e => e.kind === 'vs' && e.name === snapshot.name && e.status.readyToUse),
      `snapshot ${snapshot.name} ready`,
    );
  }
  return taken.map(snapshot => timeline(snapshot));
}

/** Milliseconds from the creation request to each step of one snapshot. */
function timeline({ name, claim, start }) {
  const vs = events.filter(e => e.kind === 'vs' && e.name === name);
  const uid = vs[0].uid;
  const vsc = events.filter(e => e.kind === 'vsc' && e.name === `snapcontent-${uid}`);
  const pvc = events.filter(e => e.kind === 'pvc' && e.name === claim && e.at >= start);
  const first = (list, test) => {
    const found = list.find(test);
    return found ? found.at - start : NaN;
  };
  return {
    name,
    created: first(vs, e => e.phase === 'ADDED'),
    pvcFinalizer: first(pvc, e => e.finalizers.includes('snapshot.storage.kubernetes.io/pvc-as-source-protection')),
    vsFinalizer: first(vs, e => e.finalizers.includes('snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection')),
    contentCreated: first(vsc, e => e.phase === 'ADDED'),
    vsBound: first(vs, e => e.status.boundVolumeSnapshotContentName),
    beingCreated: first(vsc, e => e.beingCreated),
    contentReady: first(vsc, e => e.status.readyToUse),
    annotationRemoved: first(vsc, e => e.status.readyToUse && !e.beingCreated),
    ready: first(vs, e => e.status.readyToUse),
  };
}

const steps = [
  ['created', 'VolumeSnapshot created (API answer seen by the watch)'],
  ['pvcFinalizer', 'claim gets pvc-as-source-protection'],
  ['vsFinalizer', 'VolumeSnapshot gets its finalizer'],
  ['contentCreated', 'VolumeSnapshotContent created'],
  ['vsBound', 'VolumeSnapshot status: bound to the content'],
  ['beingCreated', 'csi-snapshotter: being-created annotation (then CreateSnapshot)'],
  ['contentReady', 'content status readyToUse (after CreateSnapshot)'],
  ['annotationRemoved', 'being-created annotation removed'],
  ['ready', 'VolumeSnapshot readyToUse'],
];

function printTable(title, timelines) {
  console.log(`\n${title} (${timelines.length} snapshots; ms from the creation request, median [min-max])`);
  for (const [key, label] of steps) {
    const values = timelines.map(t => t[key]).filter(v => !Number.isNaN(v));
    if (!values.length) continue;
    console.log(`  ${label.padEnd(66)} ${String(median(values)).padStart(6)} [${Math.min(...values)}-${Math.max(...values)}]`);
  }
}

async function deleteSnapshots(custom, timelines) {
  const contents = timelines.map(t => events.find(e => e.kind === 'vs' && e.name === t.name).uid);
  for (const t of timelines) {
    await custom.deleteNamespacedCustomObject({ ...api, namespace: ns, plural: 'volumesnapshots', name: t.name });
  }
  for (const uid of contents) {
    await waitUntil(
      () => events.find(e => e.kind === 'vsc' && e.name === `snapcontent-${uid}` && e.phase === 'DELETED'),
      `content of ${uid} gone`,
    );
  }
}

/** Claims (from the snapshots, or empty) and a pod on each; ms from the claims' creation to each step. */
async function claimsAndPods({ sandbox, core, sources, round }) {
  const start = Date.now();
  const names = sources.map((source, i) => `${source ? 'from' : 'empty'}-${round}-${i}`);
  await Promise.all(
    names.map(async (name, i) => {
      await core.createNamespacedPersistentVolumeClaim({
        namespace: ns,
        body: {
          metadata: { name },
          spec: {
            accessModes: ['ReadWriteOnce'],
            volumeMode: 'Block',
            storageClassName: 'ferry-sandbox',
            resources: { requests: { storage: '1Gi' } },
            ...(sources[i] ? { dataSource: { apiGroup: api.group, kind: 'VolumeSnapshot', name: sources[i] } } : {}),
          },
        },
      });
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name },
          spec: {
            terminationGracePeriodSeconds: 0,
            restartPolicy: 'Never',
            volumes: [{ name: 'device', persistentVolumeClaim: { claimName: name } }],
            containers: [
              {
                name: 'main',
                image: sandbox.images.datamover,
                command: ['sh', '-c', 'date +%s%3N; exec sleep 3600'],
                volumeDevices: [{ name: 'device', devicePath: '/dev/volume' }],
              },
            ],
          },
        },
      });
    }),
  );
  const result = [];
  for (const name of names) {
    const firstLine = await waitUntil(() => {
      const log = sandbox.readPodLog({ namespace: ns, pod: name });
      return log && /^\d{13}/m.exec(log);
    }, `pod ${name} running its command`);
    const at = kind => events.filter(e => e.kind === kind && e.name === name);
    const first = (list, test) => {
      const found = list.find(test);
      return found ? found.at - start : NaN;
    };
    result.push({
      name,
      claimBound: first(at('pvc'), e => e.status.phase === 'Bound'),
      podScheduled: first(at('pod'), e => (e.status.conditions ?? []).some(c => c.type === 'PodScheduled' && c.status === 'True')),
      processStarted: Number(firstLine[0]) - start,
      containerRunning: first(at('pod'), e => (e.status.containerStatuses ?? []).some(c => c.state?.running)),
    });
  }
  for (const name of names) {
    await core.deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: 0 });
  }
  for (const name of names) {
    await waitUntil(() => events.find(e => e.kind === 'pod' && e.name === name && e.phase === 'DELETED'), `pod ${name} gone`);
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name });
  }
  for (const name of names) {
    await waitUntil(() => events.find(e => e.kind === 'pvc' && e.name === name && e.phase === 'DELETED'), `claim ${name} gone`);
  }
  return result;
}

function printPodTable(title, rows) {
  console.log(`\n${title} (${rows.length} claims and pods; ms from the claims' creation, median [min-max])`);
  for (const [key, label] of [
    ['claimBound', 'claim Bound'],
    ['podScheduled', 'pod scheduled'],
    ['processStarted', "container's first command (its own clock)"],
    ['containerRunning', 'pod status: container running'],
  ]) {
    const values = rows.map(r => r[key]).filter(v => !Number.isNaN(v));
    if (values.length) console.log(`  ${label.padEnd(66)} ${String(median(values)).padStart(6)} [${Math.min(...values)}-${Math.max(...values)}]`);
  }
}

/** Client-side throttling waits a sidecar logged (client-go, --v=3: "Waited before sending request"). */
function throttling(logFile) {
  const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
  const delays = [...text.matchAll(/Waited before sending request" delay="([\d.]+)(ms|s)"/g)].map(m =>
    m[2] === 's' ? Number(m[1]) * 1000 : Number(m[1]),
  );
  return { count: delays.length, totalMs: Math.round(delays.reduce((a, b) => a + b, 0)), maxMs: Math.round(Math.max(0, ...delays)) };
}

async function writeData(sandbox, claim, bytes, { spread = 1 } = {}) {
  // `spread` > 1 scatters 4 MiB extents over the first `spread` x bytes (a 10 %-full 4 GiB volume).
  const chunk = 4 * mib;
  for (let offset = 0, i = 0; offset < bytes; offset += chunk, i++) {
    await sandbox.writeVolume({ namespace: ns, claim, offset: i * chunk * spread, data: crypto.randomBytes(chunk) });
  }
}

async function main() {
  console.log(`measure-snapshots ${new Date().toISOString()}, load ${os.loadavg().map(l => l.toFixed(1)).join(' ')}`);
  const keepDir = path.join(os.tmpdir(), `ferry-snapshot-times-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  fs.mkdirSync(keepDir, { recursive: true });
  const driverLog = [];
  const sandbox = await startSandbox({ ephemeral: true, log: message => driverLog.push(`${new Date().toISOString()} ${message}`) });
  let stopWatches = () => undefined;
  try {
    const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
    const custom = sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const claims = [
      ['data-0', '1Gi', 64 * mib],
      ['wal-0', '1Gi', 16 * mib],
      ['data-1', '1Gi', 64 * mib],
      ['wal-1', '1Gi', 16 * mib],
    ];
    if (flag('--big')) claims.push(['raw-big', '4Gi', 410 * mib]);
    for (const [name, size] of claims) {
      await core.createNamespacedPersistentVolumeClaim({
        namespace: ns,
        body: {
          metadata: { name },
          spec: { accessModes: ['ReadWriteOnce'], volumeMode: 'Block', storageClassName: 'ferry-sandbox', resources: { requests: { storage: size } } },
        },
      });
    }
    stopWatches = await startWatches(sandbox.kubeConfig);
    for (const [name] of claims) {
      await waitUntil(() => events.find(e => e.kind === 'pvc' && e.name === name && e.status.phase === 'Bound'), `claim ${name} bound`, 60_000);
    }
    for (const [name, , bytes] of claims) await writeData(sandbox, name, bytes, { spread: name === 'raw-big' ? 10 : 1 });
    console.log(`claims bound and filled; load ${os.loadavg().map(l => l.toFixed(1)).join(' ')}`);
    const small = claims.filter(([name]) => name !== 'raw-big').map(([name]) => name);
    const alone = [];
    const together = [];
    const big = [];
    for (let round = 0; round < rounds; round++) {
      const one = await takeSnapshots(custom, [small[round % small.length]], `a${round}`);
      alone.push(...one);
      await deleteSnapshots(custom, one);
      await sleep(2000); // the sidecars' request budgets (burst) fill up again
      const four = await takeSnapshots(custom, small, `b${round}`);
      together.push(...four);
      console.log(`round ${round + 1}: one alone ready after ${s(one[0].ready)} s; four at once: ${four.map(t => s(t.ready)).join(' ')} s`);
      await deleteSnapshots(custom, four);
      await sleep(2000);
      if (flag('--big') && round < 3) {
        const b = await takeSnapshots(custom, ['raw-big'], `c${round}`);
        big.push(...b);
        await deleteSnapshots(custom, b);
        await sleep(2000);
      }
    }
    const fromSnapshots = [];
    const empty = [];
    if (flag('--pods')) {
      for (let round = 0; round < Math.min(rounds, 3); round++) {
        const four = await takeSnapshots(custom, small, `p${round}`);
        fromSnapshots.push(...(await claimsAndPods({ sandbox, core, sources: four.map(t => t.name), round })));
        await deleteSnapshots(custom, four);
        empty.push(...(await claimsAndPods({ sandbox, core, sources: [null, null, null, null], round })));
        console.log(`pods round ${round + 1} done`);
      }
    }
    const mounted = [];
    if (flag('--fs')) {
      const fsClaims = [['fs-data-0', 64], ['fs-wal-0', 16], ['fs-data-1', 64], ['fs-wal-1', 16]];
      for (const [name, mb] of fsClaims) {
        await core.createNamespacedPersistentVolumeClaim({
          namespace: ns,
          body: {
            metadata: { name },
            spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'ferry-sandbox', resources: { requests: { storage: '1Gi' } } },
          },
        });
        await core.createNamespacedPod({
          namespace: ns,
          body: {
            metadata: { name },
            spec: {
              terminationGracePeriodSeconds: 0,
              restartPolicy: 'Never',
              volumes: [{ name: 'data', persistentVolumeClaim: { claimName: name } }],
              containers: [
                {
                  name: 'main',
                  image: sandbox.images.datamover,
                  command: ['sh', '-c', `head -c ${mb}M /dev/urandom > /data/file && echo written && exec sleep 3600`],
                  volumeMounts: [{ name: 'data', mountPath: '/data' }],
                },
              ],
            },
          },
        });
      }
      for (const [name] of fsClaims) {
        await waitUntil(() => /written/.test(sandbox.readPodLog({ namespace: ns, pod: name }) ?? ''), `pod ${name} wrote its data`);
      }
      for (let round = 0; round < rounds; round++) {
        const four = await takeSnapshots(custom, fsClaims.map(([name]) => name), `f${round}`);
        mounted.push(...four);
        console.log(`mounted round ${round + 1}: ${four.map(t => s(t.ready)).join(' ')} s`);
        await deleteSnapshots(custom, four);
        await sleep(2000);
      }
      for (const [name] of fsClaims) await core.deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: 0 });
    }
    printTable('one snapshot alone', alone);
    printTable('four snapshots at once', together);
    if (big.length) printTable('one snapshot of a 4 GiB claim with 10 % data', big);
    if (mounted.length) printTable('four snapshots at once of mounted ext4 claims (fsfreeze for the copy)', mounted);
    if (fromSnapshots.length) printPodTable('four Block claims from the snapshots, a pod on each', fromSnapshots);
    if (empty.length) printPodTable('four empty Block claims, a pod on each', empty);
    const logs = path.join(sandbox.dataDir, 'csi', 'logs');
    console.log('\nclient-side throttling over the whole run (sidecar logs, --v=3):');
    for (const name of ['kubelet', 'containerd']) {
      const file = path.join(sandbox.dataDir, 'logs', `${name}.log`);
      if (fs.existsSync(file)) fs.copyFileSync(file, path.join(keepDir, `${name}.log`));
    }
    for (const name of ['snapshot-controller', 'csi-snapshotter', 'csi-provisioner']) {
      const t = throttling(path.join(logs, `${name}.log`));
      console.log(`  ${name.padEnd(20)} ${t.count} waits, ${s(t.totalMs)} s in all, longest ${s(t.maxMs)} s`);
      if (fs.existsSync(path.join(logs, `${name}.log`))) fs.copyFileSync(path.join(logs, `${name}.log`), path.join(keepDir, `${name}.log`));
    }
    const copies = driverLog
      .map(line => /Created snapshot \S+ .* in (\d+) ms/.exec(line))
      .filter(Boolean)
      .map(m => Number(m[1]));
    if (copies.length) console.log(`driver CreateSnapshot (quiesce + sparse copy): median ${median(copies)} ms [${Math.min(...copies)}-${Math.max(...copies)}] over ${copies.length}`);
    fs.writeFileSync(path.join(keepDir, 'driver.log'), `${driverLog.join('\n')}\n`);
    fs.writeFileSync(path.join(keepDir, 'events.json'), JSON.stringify(events, null, 1));
    console.log(`logs and events in ${keepDir}; load ${os.loadavg().map(l => l.toFixed(1)).join(' ')}`);
  } finally {
    stopWatches();
    await sandbox.stop();
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
