import {
  Box,
  FormControl,
  FormControlLabel,
  FormLabel,
  MenuItem,
  Radio,
  RadioGroup,
  TextField,
} from '@material-ui/core';
import { Alert } from '@material-ui/lab';
import type { RestoreOptions } from '@ferry/plugin-backup-common';
import { backendMessage } from '../ApiErrorPanel';
import type { RestoreForm, RestoreFormErrors } from './restoreForm';

/** `GET …/restore-options` as the wizard loaded it: where this user may restore. */
export interface RestoreTargets {
  loading: boolean;
  error?: Error;
  options?: RestoreOptions;
}

/**
 * The select's options: the configured clusters, plus the backup's own cluster (the default) and
 * the current choice when the list lacks them, marked as not configured.
 */
export function clusterOptions(
  configured: string[],
  source: string,
  current: string,
): Array<{ name: string; configured: boolean }> {
  const options = configured.map(name => ({ name, configured: true }));
  for (const name of [source, current]) {
    if (name && !options.some(option => option.name === name)) {
      options.push({ name, configured: false });
    }
  }
  return options;
}

/**
 * Why the target is what it is, said before anything is submitted: fixed to the entity's own
 * namespace and cluster without backup.restore.anywhere, any namespace and configured cluster with it.
 */
const TargetNote = (props: { entityTitle: string; options: RestoreOptions }) => {
  const { options } = props;
  if (!options.anywhere) {
    return (
      <Alert severity="info">
        You may restore {props.entityTitle}&apos;s backups only into {options.cluster} /{' '}
        {options.namespace}, where {props.entityTitle} runs: a service owner restores into their
        own application&apos;s namespace. Restoring into another namespace or cluster needs the
        backup.restore.anywhere permission (platform administrators).
      </Alert>
    );
  }
  return (
    <Alert severity="info">
      You may restore into any namespace, in any of the configured clusters (
      {options.clusters.join(', ')}): you have the backup.restore.anywhere permission.{' '}
      {props.entityTitle} runs in {options.cluster} / {options.namespace}.
    </Alert>
  );
};

/** Step 1: where to restore, what, and what to do with objects that exist. */
export const TargetStep = (props: {
  form: RestoreForm;
  errors: RestoreFormErrors;
  /** Where the backup was taken. */
  source: { cluster: string; namespace: string };
  /** The entity's title, for the sentence that says where one may restore. */
  entityTitle: string;
  /** Where this user may restore; when it could not be loaded, both fields are free text. */
  targets: RestoreTargets;
  onChange: (form: RestoreForm) => void;
}) => {
  const { form, errors, onChange, targets } = props;
  const options = targets.options;
  /** Without backup.restore.anywhere the target is the entity's own: shown, not chosen. */
  const fixed = Boolean(options && !options.anywhere);
  const sourceHelp = `The backup was taken from ${props.source.cluster} / ${props.source.namespace}`;
  const clusterField = {
    id: 'restore-cluster',
    label: 'Target cluster',
    variant: 'outlined' as const,
    fullWidth: true,
    value: form.cluster,
    error: Boolean(errors.cluster),
    onChange: (e: React.ChangeEvent<HTMLInputElement>) => onChange({ ...form, cluster: e.target.value }),
  };
  const choices = options
    ? clusterOptions(options.clusters, options.anywhere ? props.source.cluster : '', form.cluster)
    : [{ name: form.cluster, configured: true }];
  return (
    <Box>
      <Box display="flex" style={{ gap: 16 }} mb={2}>
        {targets.error ? (
          // Without the options, the target is typed as before; the backend still checks it.
          <TextField
            {...clusterField}
            helperText={
              errors.cluster ??
              `Could not load where you may restore (${
                backendMessage(targets.error) ?? targets.error.message
              }): type the target, the backend checks it at the preview. ${sourceHelp}`
            }
          />
        ) : (
          <TextField
            {...clusterField}
            select
            disabled={targets.loading || fixed}
            helperText={
              errors.cluster ??
              (targets.loading ? `Checking where you may restore… ${sourceHelp}` : sourceHelp)
            }
          >
            {choices.map(option => (
              <MenuItem key={option.name} value={option.name}>
                {option.configured ? option.name : `${option.name} (not configured)`}
              </MenuItem>
            ))}
          </TextField>
        )}
        <TextField
          id="restore-namespace"
          label="Target namespace"
          variant="outlined"
          fullWidth
          value={form.namespace}
          disabled={targets.loading || fixed}
          error={Boolean(errors.namespace)}
          helperText={errors.namespace ?? `The backup was taken from ${props.source.namespace}`}
          onChange={e => onChange({ ...form, namespace: e.target.value })}
        />
      </Box>
      {options && (
        <Box mb={2}>
          <TargetNote entityTitle={props.entityTitle} options={options} />
        </Box>
      )}
      <Box display="flex" style={{ gap: 48 }}>
        <FormControl component="fieldset">
          <FormLabel component="legend">What to restore</FormLabel>
          <RadioGroup
            value={form.scope}
            onChange={e => onChange({ ...form, scope: e.target.value as RestoreForm['scope'] })}
          >
            <FormControlLabel value="all" control={<Radio color="primary" />} label="Resources and volume data" />
            <FormControlLabel value="metadata-only" control={<Radio color="primary" />} label="Resources only (metadata-only)" />
            <FormControlLabel value="data-only" control={<Radio color="primary" />} label="Volume data only (data-only)" />
          </RadioGroup>
        </FormControl>
        <FormControl component="fieldset">
          <FormLabel component="legend">Objects that already exist</FormLabel>
          <RadioGroup
            value={form.existing}
            onChange={e =>
              onChange({ ...form, existing: e.target.value as RestoreForm['existing'] })
            }
          >
            <FormControlLabel value="skip" control={<Radio color="primary" />} label="Skip them" />
            <FormControlLabel value="patch" control={<Radio color="primary" />} label="Patch them to the backed-up state" />
          </RadioGroup>
        </FormControl>
      </Box>
    </Box>
  );
};
