import {
  Box,
  Checkbox,
  Divider,
  FormControlLabel,
  TextField,
  Typography,
} from '@material-ui/core';
import type { RestoreOptions } from '@ferry/plugin-backup-common';
import { MapEditor } from './MapEditor';
import { PatchRulesNote } from './PatchRulesNote';
import type { RestoreForm, RestoreFormErrors } from './restoreForm';

/** Step 2: transforms (maps, omissions, JSON patches) and image restore. */
export const TransformsStep = (props: {
  form: RestoreForm;
  errors: RestoreFormErrors;
  /** The backup's namespace: the default repository is `ferry/<it>`. */
  sourceNamespace: string;
  /** Where this user may restore and whether privileged changes are allowed (unknown: no note). */
  options?: RestoreOptions;
  onChange: (form: RestoreForm) => void;
}) => {
  const { form, errors, onChange } = props;
  const image = form.imageRestore;
  const setImage = (next: Partial<RestoreForm['imageRestore']>) =>
    onChange({ ...form, imageRestore: { ...image, ...next } });
  return (
    <Box>
      <MapEditor
        label="Storage class map"
        field="storageClassMap"
        fromLabel="Storage class in the backup"
        toLabel="Storage class to use"
        rows={form.storageClassMap}
        errors={errors}
        onChange={rows => onChange({ ...form, storageClassMap: rows })}
      />
      <MapEditor
        label="Namespace map"
        help={
          props.options && !props.options.anywhere
            ? `You may map only into ${props.options.namespace}: other namespaces need the backup.restore.anywhere permission.`
            : undefined
        }
        field="namespaceMap"
        fromLabel="Namespace in the backup"
        toLabel="Namespace to use"
        rows={form.namespaceMap}
        errors={errors}
        onChange={rows => onChange({ ...form, namespaceMap: rows })}
      />
      <Box display="flex" style={{ gap: 16 }} mb={2}>
        <TextField
          id="restore-omit-labels"
          label="Omit labels"
          helperText="Label keys to drop, comma-separated"
          variant="outlined"
          size="small"
          fullWidth
          value={form.omitLabels}
          onChange={e => onChange({ ...form, omitLabels: e.target.value })}
        />
        <TextField
          id="restore-omit-annotations"
          label="Omit annotations"
          helperText="Annotation keys to drop, comma-separated"
          variant="outlined"
          size="small"
          fullWidth
          value={form.omitAnnotations}
          onChange={e => onChange({ ...form, omitAnnotations: e.target.value })}
        />
      </Box>
      {props.options && (
        <Box mb={1}>
          <PatchRulesNote privileged={props.options.privileged} />
        </Box>
      )}
      <TextField
        id="restore-patches"
        label="JSON patches (optional)"
        placeholder='[{"target":{"kind":"Deployment","name":"web"},"operations":[{"op":"replace","path":"/spec/replicas","value":1}]}]'
        variant="outlined"
        multiline
        minRows={3}
        fullWidth
        value={form.patches}
        error={Boolean(errors.patches)}
        helperText={errors.patches ?? 'RFC 6902 operations applied to matching objects'}
        onChange={e => onChange({ ...form, patches: e.target.value })}
        inputProps={{ style: { fontFamily: 'monospace', fontSize: 13 } }}
      />
      <Box my={2}>
        <Divider />
      </Box>
      <Typography variant="subtitle2">Container images</Typography>
      <Typography variant="body2" color="textSecondary">
        Images that can still be pulled are used as they are. An image that cannot be pulled any
        more is pushed from the backup to a registry of your choice, and the restored workloads
        are pointed at the pushed copy.
      </Typography>
      <FormControlLabel
        control={
          <Checkbox
            color="primary"
            checked={image.enabled}
            onChange={e => setImage({ enabled: e.target.checked })}
          />
        }
        label="Push backed-up images whose original is unreachable to a registry"
      />
      {image.enabled && (
        <Box display="grid" style={{ gridTemplateColumns: '1fr 1fr', gap: 16 }}>
          <TextField
            id="restore-image-registry"
            label="Registry"
            placeholder="registry.example.com:5000"
            variant="outlined"
            size="small"
            required
            value={image.registry}
            error={Boolean(errors['imageRestore.registry'])}
            helperText={errors['imageRestore.registry'] ?? 'Host and optional port, no https:// or path'}
            onChange={e => setImage({ registry: e.target.value })}
          />
          <TextField
            id="restore-image-repository"
            label="Repository"
            placeholder={`ferry/${props.sourceNamespace}`}
            variant="outlined"
            size="small"
            value={image.repository}
            error={Boolean(errors['imageRestore.repository'])}
            helperText={
              errors['imageRestore.repository'] ?? `Where in the registry; ferry/${props.sourceNamespace} when empty`
            }
            onChange={e => setImage({ repository: e.target.value })}
          />
          <TextField
            id="restore-image-auth-secret"
            label="Auth secret"
            variant="outlined"
            size="small"
            value={image.authSecret}
            error={Boolean(errors['imageRestore.authSecret'])}
            helperText={
              errors['imageRestore.authSecret'] ??
              "A kubernetes.io/dockerconfigjson Secret in the target namespace or Ferry's namespace"
            }
            onChange={e => setImage({ authSecret: e.target.value })}
          />
          <FormControlLabel
            control={
              <Checkbox
                color="primary"
                checked={image.overrideImageIfExist}
                onChange={e => setImage({ overrideImageIfExist: e.target.checked })}
              />
            }
            label="Overwrite an existing image with the same name and tag"
          />
        </Box>
      )}
    </Box>
  );
};
