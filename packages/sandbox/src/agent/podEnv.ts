import { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';
import { getOrUndefined } from './kube';
import { podFieldValue, VolumeNotReady, VolumeUnsupported } from './podVolumes';

/** Expands `$(VAR)` references as the kubelet does (`$$` escapes, unknown references stay). */
export function expandReferences(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in env ? env[name] : match;
  });
}

/** The environment of a container: envFrom first, then env (later wins), with references expanded. */
export async function containerEnv(core: CoreV1Api, pod: V1Pod, container: V1Container): Promise<Record<string, string>> {
  const namespace = pod.metadata!.namespace!;
  const secrets = new Map<string, Record<string, string> | undefined>();
  const maps = new Map<string, Record<string, string> | undefined>();
  const secret = async (name: string) => {
    if (!secrets.has(name)) {
      const found = await getOrUndefined(() => core.readNamespacedSecret({ name, namespace }));
      secrets.set(
        name,
        found ? Object.fromEntries(Object.entries(found.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])) : undefined,
      );
    }
    return secrets.get(name);
  };
  const configMap = async (name: string) => {
    if (!maps.has(name)) {
      const found = await getOrUndefined(() => core.readNamespacedConfigMap({ name, namespace }));
      maps.set(name, found ? { ...(found.data ?? {}) } : undefined);
    }
    return maps.get(name);
  };
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef;
    if (!ref?.name) continue;
    const values = from.secretRef ? await secret(ref.name) : await configMap(ref.name);
    if (!values) {
      if (ref.optional) continue;
      throw new VolumeNotReady(`${from.secretRef ? 'secret' : 'configmap'} "${ref.name}" not found`);
    }
    for (const [key, value] of Object.entries(values)) env[`${from.prefix ?? ''}${key}`] = value;
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      env[variable.name] = expandReferences(variable.value, env);
      continue;
    }
    const source = variable.valueFrom;
    if (!source) {
      env[variable.name] = '';
    } else if (source.secretKeyRef || source.configMapKeyRef) {
      const ref = (source.secretKeyRef ?? source.configMapKeyRef)!;
      const values = source.secretKeyRef ? await secret(ref.name!) : await configMap(ref.name!);
      const value = values?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw new VolumeNotReady(`${source.secretKeyRef ? 'secret' : 'configmap'} "${ref.name}" has no key ${ref.key}`);
      }
      env[variable.name] = value;
    } else if (source.fieldRef) {
      env[variable.name] = podFieldValue(pod, source.fieldRef.fieldPath);
    } else {
      throw new VolumeUnsupported(`env ${variable.name}: only value, secretKeyRef, configMapKeyRef and fieldRef are supported`);
    }
  }
  return env;
}
