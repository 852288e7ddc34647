import { FileMapping, fileMapping } from '../file/fileMapping';

/**
 * The file mapping addon built by native/build.sh (the set-up of `npm test` builds it), or the
 * one FERRY_FILE_MAPPING names (bundles). Tests of mapped passes need it: they fail, saying how
 * to build it, rather than skip.
 */
export function builtMapping(): FileMapping {
  const mapping = fileMapping();
  if (!mapping)
    throw new Error(
      'the file mapping addon is missing (packages/qcow2/native/build/file_mapping.node, or FERRY_FILE_MAPPING is off): run `npm run setup` (or packages/qcow2/native/build.sh)',
    );
  return mapping;
}
