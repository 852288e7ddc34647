/**
 * Resolves the backing file name stored in an overlay the way QEMU does for plain paths
 * (`path_combine`): an absolute name is used as is; a relative one is taken relative to the
 * directory part of the overlay's own name (everything up to its last `/`), with no further
 * normalisation. Works for object keys too (`apps/a/vol/2.qcow2` + `1.qcow2` → `apps/a/vol/1.qcow2`).
 */
export function resolveBackingName(options: {
  childName: string;
  backingName: string;
}): string {
  const { childName, backingName } = options;
  if (backingName.startsWith('/')) return backingName;
  const slash = childName.lastIndexOf('/');
  return slash < 0 ? backingName : childName.slice(0, slash + 1) + backingName;
}
