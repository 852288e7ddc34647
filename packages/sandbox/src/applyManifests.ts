import {
  ApiextensionsV1Api,
  KubeConfig,
  KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from './waitFor';

/** Every object of every `*.yaml`/`*.yml` file in the given folders (sorted by file name). */
export function readManifestDirs(dirs: string[]): KubernetesObject[] {
  const files: string[] = [];
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) throw new Error(`manifest folder ${dir} does not exist`);
    for (const name of fs.readdirSync(dir).sort()) {
      if (/\.ya?ml$/.test(name)) files.push(path.join(dir, name));
    }
  }
  return files.flatMap(readManifestFile);
}

/**
 * Objects of a multi-document YAML file, deserialised with client-node's model classes (its
 * serializer drops JSON names such as `x-kubernetes-validations` from plain objects).
 */
export function readManifestFile(file: string): KubernetesObject[] {
  let documents: Array<KubernetesObject | null>;
  try {
    documents = loadAllYaml(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`invalid YAML in ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const objects: KubernetesObject[] = [];
  for (const value of documents) {
    if (!value) continue;
    if (!value.apiVersion || !value.kind || !value.metadata?.name) {
      throw new Error(`object in ${file} lacks apiVersion, kind or metadata.name`);
    }
    objects.push(value);
  }
  return objects;
}

/**
 * Server-side applies objects (field manager `ferry-sandbox`, forced). CustomResourceDefinitions go
 * first and are waited for until Established, so custom objects in the same list apply.
 */
export async function applyObjects(kubeConfig: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  const isCrd = (o: KubernetesObject) => o.kind === 'CustomResourceDefinition';
  const crds = objects.filter(isCrd);
  const apply = async (object: KubernetesObject) => {
    try {
      await client.patch(object, undefined, undefined, 'ferry-sandbox', true, PatchStrategy.ServerSideApply);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new Error(`could not apply ${object.kind} ${object.metadata?.name}: ${detail}`);
    }
  };
  for (const crd of crds) await apply(crd);
  if (crds.length > 0) {
    const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
    await Promise.all(
      crds.map(crd =>
        waitFor(
          async () => {
            const current: V1CustomResourceDefinition = await extensions.readCustomResourceDefinition({
              name: crd.metadata!.name!,
            });
            return current.status?.conditions?.some(c => c.type === 'Established' && c.status === 'True');
          },
          { description: `CRD ${crd.metadata!.name} to be Established`, timeoutMs: 30_000 },
        ),
      ),
    );
  }
  for (const object of objects.filter(o => !isCrd(o))) {
    // Discovery of freshly established CRDs can lag a moment behind: retry briefly.
    await waitFor(
      async () => {
        await apply(object);
        return true;
      },
      { description: `${object.kind} ${object.metadata?.name} to apply`, timeoutMs: 15_000, intervalMs: 250 },
    );
  }
}
