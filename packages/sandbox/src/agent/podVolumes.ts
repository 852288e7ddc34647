import { CoreV1Api, V1Pod, V1Volume } from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { driverName } from './constants';
import { getOrUndefined } from './kube';
import { VolumeStore } from './VolumeStore';

/** A pod volume as the kubelet exposes it to a process. */
export type PreparedVolume =
  | { kind: 'directory'; path: string }
  | { kind: 'claim'; volumeMode: 'Filesystem' | 'Block'; imageFile: string; filesDir: string; claim: string };

/** A referenced object (claim, secret, config map) is not there yet: retry later, as the kubelet does. */
export class VolumeNotReady extends Error {}

/** A volume type the sandbox kubelet cannot provide: the pod fails. */
export class VolumeUnsupported extends Error {}

type Context = { core: CoreV1Api; store: VolumeStore; pod: V1Pod; podDir: string };

function writeItems(
  dir: string,
  data: Record<string, Buffer>,
  items: Array<{ key: string; path: string; mode?: number }> | undefined,
  defaultMode: number | undefined,
  what: string,
) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const entries = items
    ? items.map(item => {
        if (!(item.key in data)) throw new VolumeNotReady(`${what} has no key ${item.key}`);
        return { key: item.key, file: item.path, mode: item.mode };
      })
    : Object.keys(data).map(key => ({ key, file: key, mode: undefined }));
  for (const entry of entries) {
    const target = path.join(dir, entry.file);
    if (!target.startsWith(dir + path.sep)) throw new VolumeUnsupported(`${what} item path ${entry.file} escapes the volume`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, data[entry.key], { mode: entry.mode ?? defaultMode ?? 0o644 });
  }
}

async function secretData(ctx: Context, name: string, optional: boolean | undefined) {
  const secret = await getOrUndefined(() => ctx.core.readNamespacedSecret({ name, namespace: ctx.pod.metadata!.namespace! }));
  if (!secret) {
    if (optional) return {};
    throw new VolumeNotReady(`secret "${name}" not found`);
  }
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}

async function configMapData(ctx: Context, name: string, optional: boolean | undefined) {
  const map = await getOrUndefined(() => ctx.core.readNamespacedConfigMap({ name, namespace: ctx.pod.metadata!.namespace! }));
  if (!map) {
    if (optional) return {};
    throw new VolumeNotReady(`configmap "${name}" not found`);
  }
  return {
    ...Object.fromEntries(Object.entries(map.data ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
    ...Object.fromEntries(Object.entries(map.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  };
}

/** The value of a downward-API field path of the pod (metadata only, plus node and IP). */
export function podFieldValue(pod: V1Pod, fieldPath: string): string {
  const meta = pod.metadata ?? {};
  const labelMatch = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (labelMatch) return (meta[labelMatch[1] as 'labels'] ?? {})[labelMatch[2]] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
    case 'metadata.annotations':
      return Object.entries(meta[fieldPath.slice(9) as 'labels'] ?? {})
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join('\n');
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.hostIP':
      return '127.0.0.1';
    default:
      throw new VolumeUnsupported(`field path ${fieldPath} is not supported by the sandbox kubelet`);
  }
}

async function prepareOne(ctx: Context, volume: V1Volume): Promise<PreparedVolume> {
  const dir = path.join(ctx.podDir, 'volumes', volume.name);
  const namespace = ctx.pod.metadata!.namespace!;
  if (volume.persistentVolumeClaim) {
    const claimName = volume.persistentVolumeClaim.claimName;
    const claim = await getOrUndefined(() => ctx.core.readNamespacedPersistentVolumeClaim({ name: claimName, namespace }));
    if (!claim?.spec?.volumeName || claim.status?.phase !== 'Bound') {
      throw new VolumeNotReady(`persistentvolumeclaim "${claimName}" is not bound`);
    }
    const pv = await ctx.core.readPersistentVolume({ name: claim.spec.volumeName });
    if (pv.spec?.csi?.driver !== driverName) {
      throw new VolumeUnsupported(`volume ${pv.metadata?.name} of claim ${claimName} is not a ${driverName} volume`);
    }
    const handle = pv.spec.csi.volumeHandle;
    return {
      kind: 'claim',
      claim: claimName,
      volumeMode: (pv.spec.volumeMode ?? 'Filesystem') as 'Filesystem' | 'Block',
      imageFile: ctx.store.volumeFile(handle),
      filesDir: ctx.store.volumeFilesDir(handle),
    };
  }
  if (volume.secret) {
    const data = await secretData(ctx, volume.secret.secretName!, volume.secret.optional);
    writeItems(dir, data, volume.secret.items, volume.secret.defaultMode, `secret "${volume.secret.secretName}"`);
    return { kind: 'directory', path: dir };
  }
  if (volume.configMap) {
    const data = await configMapData(ctx, volume.configMap.name!, volume.configMap.optional);
    writeItems(dir, data, volume.configMap.items, volume.configMap.defaultMode, `configmap "${volume.configMap.name}"`);
    return { kind: 'directory', path: dir };
  }
  if (volume.emptyDir) {
    fs.mkdirSync(dir, { recursive: true });
    return { kind: 'directory', path: dir };
  }
  if (volume.hostPath) {
    if (volume.hostPath.type === 'DirectoryOrCreate') fs.mkdirSync(volume.hostPath.path, { recursive: true });
    return { kind: 'directory', path: volume.hostPath.path };
  }
  if (volume.downwardAPI) {
    const data: Record<string, Buffer> = {};
    const items = (volume.downwardAPI.items ?? []).map(item => {
      if (!item.fieldRef) throw new VolumeUnsupported(`downwardAPI item ${item.path} needs fieldRef`);
      data[item.path] = Buffer.from(podFieldValue(ctx.pod, item.fieldRef.fieldPath));
      return { key: item.path, path: item.path, mode: item.mode };
    });
    writeItems(dir, data, items, volume.downwardAPI.defaultMode, 'downwardAPI volume');
    return { kind: 'directory', path: dir };
  }
  if (volume.projected) {
    const data: Record<string, Buffer> = {};
    const items: Array<{ key: string; path: string; mode?: number }> = [];
    const add = (file: string, value: Buffer, mode?: number) => {
      data[file] = value;
      items.push({ key: file, path: file, mode });
    };
    for (const source of volume.projected.sources ?? []) {
      if (source.secret || source.configMap) {
        const ref = (source.secret ?? source.configMap)!;
        const values = source.secret
          ? await secretData(ctx, ref.name!, ref.optional)
          : await configMapData(ctx, ref.name!, ref.optional);
        const selected = ref.items ?? Object.keys(values).map(key => ({ key, path: key, mode: undefined }));
        for (const item of selected) {
          if (!(item.key in values)) {
            if (ref.optional) continue;
            throw new VolumeNotReady(`${source.secret ? 'secret' : 'configmap'} "${ref.name}" has no key ${item.key}`);
          }
          add(item.path, values[item.key], item.mode);
        }
      } else if (source.serviceAccountToken) {
        const token = await ctx.core.createNamespacedServiceAccountToken({
          name: ctx.pod.spec?.serviceAccountName ?? 'default',
          namespace,
          body: {
            spec: {
              audiences: source.serviceAccountToken.audience ? [source.serviceAccountToken.audience] : [],
              expirationSeconds: source.serviceAccountToken.expirationSeconds ?? 3607,
              boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: ctx.pod.metadata!.name, uid: ctx.pod.metadata!.uid },
            },
          },
        });
        add(source.serviceAccountToken.path, Buffer.from(token.status?.token ?? ''), 0o600);
      } else if (source.downwardAPI) {
        for (const item of source.downwardAPI.items ?? []) {
          if (!item.fieldRef) throw new VolumeUnsupported(`downwardAPI item ${item.path} needs fieldRef`);
          add(item.path, Buffer.from(podFieldValue(ctx.pod, item.fieldRef.fieldPath)), item.mode);
        }
      } else {
        throw new VolumeUnsupported(`projected volume ${volume.name} has a source kind the sandbox does not support`);
      }
    }
    writeItems(dir, data, items, volume.projected.defaultMode, `projected volume ${volume.name}`);
    return { kind: 'directory', path: dir };
  }
  throw new VolumeUnsupported(`volume ${volume.name} has a type the sandbox kubelet does not support`);
}

/** Materialises every volume of a pod under its pod folder (secrets, config maps, claims, ...). */
export async function preparePodVolumes(ctx: Context): Promise<Map<string, PreparedVolume>> {
  const prepared = new Map<string, PreparedVolume>();
  for (const volume of ctx.pod.spec?.volumes ?? []) prepared.set(volume.name, await prepareOne(ctx, volume));
  return prepared;
}
