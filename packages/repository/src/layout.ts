import { InvalidInputError } from './errors';
import { BACKUP_ID_PATTERN } from './backupId';

/**
 * Where everything lives on a target (DESIGN.md §5, refined):
 *
 * ferry.json                                        repository format version, encryption
 * apps/<app>/lock                                   writer lease (one committer per app)
 * apps/<app>/backups/<id>/manifest.json             written LAST: the commit point
 * apps/<app>/backups/<id>/<anything else>           resources YAML etc., digests in the manifest
 * apps/<app>/volumes/<pvc>/<id>.qcow2               image; an overlay's backing file name is
 *                                                   the parent's `<parentId>.qcow2` (same folder)
 * apps/<app>/volumes/<pvc>/<id>.sums                SHA-256 per 1 MiB block of the image
 * apps/<app>/volumes/<pvc>/<id>.index               digest per cluster of the virtual disk
 * apps/<app>/volumes/<pvc>/<id>.json                volume record: sizes, digests, parent link
 * apps/<app>/volumes/<pvc>/<id>.keep                the backup was deleted but a kept backup's
 *                                                   chain still needs this image
 * images/blobs/sha256/<hex>                         OCI blob or manifest, shared by all apps
 * images/index/<app>/<id>.json                      the images of one backup (image index)
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

export function checkName(field: string, value: string): string {
  if (!NAME.test(value) || value.includes('..')) {
    throw new InvalidInputError(
      `${field} "${value}" must be 1-253 characters of letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  return value;
}

export function checkBackupId(value: string): string {
  if (!BACKUP_ID_PATTERN.test(value)) {
    throw new InvalidInputError(
      `backup id "${value}" does not match YYYYMMDDTHHMMSSmmmZ-xxxxxx (ids must sort by time)`,
    );
  }
  return value;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function checkDigest(value: string): string {
  if (!DIGEST.test(value)) throw new InvalidInputError(`digest "${value}" is not sha256:<64 lower-case hex>`);
  return value;
}

export const layout = {
  repositoryInfo: () => 'ferry.json',
  appsPrefix: () => 'apps/',
  appPrefix: (app: string) => `apps/${checkName('app', app)}/`,
  lock: (app: string) => `apps/${checkName('app', app)}/lock`,
  backupsPrefix: (app: string) => `apps/${checkName('app', app)}/backups/`,
  backupPrefix: (app: string, id: string) =>
    `apps/${checkName('app', app)}/backups/${checkBackupId(id)}/`,
  manifest: (app: string, id: string) => `${layout.backupPrefix(app, id)}manifest.json`,
  volumesPrefix: (app: string) => `apps/${checkName('app', app)}/volumes/`,
  volumePrefix: (app: string, pvc: string) =>
    `apps/${checkName('app', app)}/volumes/${checkName('pvc', pvc)}/`,
  image: (app: string, pvc: string, id: string) =>
    `${layout.volumePrefix(app, pvc)}${checkBackupId(id)}.qcow2`,
  sums: (app: string, pvc: string, id: string) =>
    `${layout.volumePrefix(app, pvc)}${checkBackupId(id)}.sums`,
  index: (app: string, pvc: string, id: string) =>
    `${layout.volumePrefix(app, pvc)}${checkBackupId(id)}.index`,
  record: (app: string, pvc: string, id: string) =>
    `${layout.volumePrefix(app, pvc)}${checkBackupId(id)}.json`,
  keep: (app: string, pvc: string, id: string) =>
    `${layout.volumePrefix(app, pvc)}${checkBackupId(id)}.keep`,
  imageBlobsPrefix: () => 'images/blobs/sha256/',
  imageBlob: (digest: string) => `images/blobs/sha256/${checkDigest(digest).slice('sha256:'.length)}`,
  imageIndexesPrefix: () => 'images/index/',
  imageIndexPrefix: (app: string) => `images/index/${checkName('app', app)}/`,
  imageIndex: (app: string, id: string) => `images/index/${checkName('app', app)}/${checkBackupId(id)}.json`,
  /** The backing-file name written into an overlay: the parent image's file name. */
  backingName: (parentId: string) => `${checkBackupId(parentId)}.qcow2`,
};

/** Splits `apps/<app>/volumes/<pvc>/<id>.<ext>` into its parts (undefined for other keys). */
export function parseVolumeKey(
  key: string,
): { app: string; pvc: string; backupId: string; ext: string } | undefined {
  const m = /^apps\/([^/]+)\/volumes\/([^/]+)\/([^/.]+)\.([a-z0-9]+)$/.exec(key);
  if (!m || !BACKUP_ID_PATTERN.test(m[3])) return undefined;
  return { app: m[1], pvc: m[2], backupId: m[3], ext: m[4] };
}

/** Splits `apps/<app>/backups/<id>/<rest>`. */
export function parseBackupKey(
  key: string,
): { app: string; backupId: string; rest: string } | undefined {
  const m = /^apps\/([^/]+)\/backups\/([^/]+)\/(.+)$/.exec(key);
  if (!m || !BACKUP_ID_PATTERN.test(m[2])) return undefined;
  return { app: m[1], backupId: m[2], rest: m[3] };
}

/** Splits `images/index/<app>/<id>.json`. */
export function parseImageIndexKey(key: string): { app: string; backupId: string } | undefined {
  const m = /^images\/index\/([^/]+)\/([^/]+)\.json$/.exec(key);
  if (!m || !BACKUP_ID_PATTERN.test(m[2])) return undefined;
  return { app: m[1], backupId: m[2] };
}

/** `images/blobs/sha256/<hex>` → `sha256:<hex>` (undefined for other keys). */
export function parseImageBlobKey(key: string): string | undefined {
  const m = /^images\/blobs\/sha256\/([0-9a-f]{64})$/.exec(key);
  return m ? `sha256:${m[1]}` : undefined;
}
