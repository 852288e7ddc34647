import type {
  BackupSummary,
  JsonPatchOperation,
  RestoreRequest,
} from '@ferry/plugin-backup-common';

export interface MapRow {
  from: string;
  to: string;
}

/** The wizard's fields, as typed; `toRestoreRequest` turns them into the API's request. */
export interface RestoreForm {
  cluster: string;
  namespace: string;
  scope: NonNullable<RestoreRequest['scope']>;
  existing: NonNullable<RestoreRequest['existing']>;
  omitLabels: string;
  omitAnnotations: string;
  storageClassMap: MapRow[];
  namespaceMap: MapRow[];
  /** JSON text: an array of `{ target: { kind, name?, labelSelector? }, operations: [...] }`. */
  patches: string;
  imageRestore: {
    enabled: boolean;
    registry: string;
    repository: string;
    authSecret: string;
    overrideImageIfExist: boolean;
  };
}

export type RestoreFormErrors = Partial<Record<string, string>>;

export function initialRestoreForm(backup: Pick<BackupSummary, 'cluster' | 'namespace'>): RestoreForm {
  return {
    cluster: backup.cluster,
    namespace: backup.namespace,
    scope: 'all',
    existing: 'skip',
    omitLabels: '',
    omitAnnotations: '',
    storageClassMap: [],
    namespaceMap: [],
    patches: '',
    imageRestore: {
      enabled: false,
      registry: '',
      repository: '',
      authSecret: '',
      overrideImageIfExist: false,
    },
  };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PATCH_OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'];
/** The backend's rules for `imageRestore` (restoreRoutes.ts), checked here to name the field early. */
const REGISTRY = /^([a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?|\[[0-9a-fA-F:]+\])(:\d{1,5})?$/;
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function list(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map(item => item.trim())
    .filter(Boolean);
}

function toMap(
  rows: MapRow[],
  field: string,
  check: (value: string) => boolean,
  errors: RestoreFormErrors,
): Record<string, string> | undefined {
  const map: Record<string, string> = {};
  rows.forEach((row, index) => {
    const from = row.from.trim();
    const to = row.to.trim();
    if (!from && !to) return;
    if (!check(from)) errors[`${field}.${index}.from`] = `"${from}" is not a valid name`;
    if (!check(to)) errors[`${field}.${index}.to`] = `"${to}" is not a valid name`;
    if (from in map) errors[`${field}.${index}.from`] = `"${from}" is mapped twice`;
    map[from] = to;
  });
  return Object.keys(map).length > 0 ? map : undefined;
}

function parsePatches(
  text: string,
  errors: RestoreFormErrors,
): NonNullable<RestoreRequest['transforms']>['patches'] {
  if (!text.trim()) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    errors.patches = `not valid JSON: ${(e as Error).message}`;
    return undefined;
  }
  if (!Array.isArray(parsed)) {
    errors.patches = 'must be a JSON array of { target, operations }';
    return undefined;
  }
  for (const [index, patch] of parsed.entries()) {
    const kind = patch?.target?.kind;
    if (typeof kind !== 'string' || !kind) {
      errors.patches = `patch ${index}: target.kind is required`;
      return undefined;
    }
    const operations = patch.operations as JsonPatchOperation[] | undefined;
    if (!Array.isArray(operations) || operations.length === 0) {
      errors.patches = `patch ${index}: operations must be a non-empty array`;
      return undefined;
    }
    const bad = operations.find(o => !PATCH_OPS.includes(o?.op) || typeof o?.path !== 'string');
    if (bad) {
      errors.patches = `patch ${index}: each operation needs an op (${PATCH_OPS.join(', ')}) and a path`;
      return undefined;
    }
  }
  return parsed;
}

/** The image restore fields as the API takes them: empty optional fields and `false` left out. */
function toImageRestore(
  fields: RestoreForm['imageRestore'],
  errors: RestoreFormErrors,
): RestoreRequest['imageRestore'] {
  const registry = fields.registry.trim();
  const repository = fields.repository.trim();
  const authSecret = fields.authSecret.trim();
  if (!registry) {
    errors['imageRestore.registry'] = 'a registry is required to restore images';
  } else if (!REGISTRY.test(registry)) {
    errors['imageRestore.registry'] =
      'a registry is a host with an optional port (registry.example.com:5000), without a scheme or path';
  }
  if (repository && !REPOSITORY.test(repository)) {
    errors['imageRestore.repository'] =
      'a repository is lower-case path components separated by "/" (e.g. restored/shop)';
  }
  if (authSecret && (!SECRET_NAME.test(authSecret) || authSecret.length > 253)) {
    errors['imageRestore.authSecret'] = 'the name of a Secret: lower-case letters, digits, "-" and "."';
  }
  if (!registry) return undefined;
  return {
    registry,
    ...(repository && { repository }),
    ...(authSecret && { authSecret }),
    ...(fields.overrideImageIfExist && { overrideImageIfExist: true }),
  };
}

/** Validates the form; returns the request, or the errors keyed by field. */
export function toRestoreRequest(
  backupId: string,
  form: RestoreForm,
): { request: RestoreRequest; errors: RestoreFormErrors } {
  const errors: RestoreFormErrors = {};
  const cluster = form.cluster.trim();
  const namespace = form.namespace.trim();
  if (!cluster) errors.cluster = 'a target cluster is required';
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
    errors.namespace = 'a namespace is a lower-case DNS label (a-z, 0-9, "-"), at most 63 characters';
  }
  const storageClassMap = toMap(form.storageClassMap, 'storageClassMap', v => DNS_SUBDOMAIN.test(v), errors);
  const namespaceMap = toMap(form.namespaceMap, 'namespaceMap', v => DNS_LABEL.test(v), errors);
  const patches = parsePatches(form.patches, errors);

  const request: RestoreRequest = {
    backupId,
    cluster,
    namespace,
    scope: form.scope,
    existing: form.existing,
  };
  const omitLabels = list(form.omitLabels);
  const omitAnnotations = list(form.omitAnnotations);
  if (omitLabels.length) request.omitLabels = omitLabels;
  if (omitAnnotations.length) request.omitAnnotations = omitAnnotations;
  if (storageClassMap || namespaceMap || patches) {
    request.transforms = {
      ...(namespaceMap && { namespaceMap }),
      ...(storageClassMap && { storageClassMap }),
      ...(patches && { patches }),
    };
  }
  if (form.imageRestore.enabled) {
    const imageRestore = toImageRestore(form.imageRestore, errors);
    if (imageRestore) request.imageRestore = imageRestore;
  }
  return { request, errors };
}
