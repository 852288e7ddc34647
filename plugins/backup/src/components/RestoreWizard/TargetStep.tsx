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
import { backendMessage } from '../ApiErrorPanel';
import type { RestoreForm, RestoreFormErrors } from './restoreForm';

/** `GET /clusters` as the wizard loaded it: the clusters a restore may name. */
export interface ClusterChoices {
  loading: boolean;
  error?: Error;
  names?: string[];
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

/** Step 1: where to restore, what, and what to do with objects that exist. */
export const TargetStep = (props: {
  form: RestoreForm;
  errors: RestoreFormErrors;
  source: { cluster: string; namespace: string };
  /** The configured clusters; when they could not be loaded, the cluster is a text field. */
  clusters: ClusterChoices;
  /** Why restoring elsewhere may be refused (no backup.restore.anywhere), if so. */
  elsewhereReason?: string;
  onChange: (form: RestoreForm) => void;
}) => {
  const { form, errors, onChange } = props;
  const elsewhere =
    form.cluster.trim() !== props.source.cluster || form.namespace.trim() !== props.source.namespace;
  const sourceHelp = `The backup was taken from ${props.source.cluster}`;
  // The cluster field: a select of the configured clusters, or free text when they could not be loaded.
  const clusterField = {
    id: 'restore-cluster',
    label: 'Target cluster',
    variant: 'outlined' as const,
    fullWidth: true,
    value: form.cluster,
    error: Boolean(errors.cluster),
    onChange: (e: React.ChangeEvent<HTMLInputElement>) => onChange({ ...form, cluster: e.target.value }),
  };
  return (
    <Box>
      <Box display="flex" style={{ gap: 16 }} mb={2}>
        {props.clusters.error ? (
          // Without the list, the cluster is typed as before; the backend still checks it.
          <TextField
            {...clusterField}
            helperText={
              errors.cluster ??
              `Could not load the configured clusters (${
                backendMessage(props.clusters.error) ?? props.clusters.error.message
              }): type the name. ${sourceHelp}`
            }
          />
        ) : (
          <TextField
            {...clusterField}
            select
            disabled={props.clusters.loading}
            helperText={
              errors.cluster ??
              (props.clusters.loading ? `Loading the configured clusters… ${sourceHelp}` : sourceHelp)
            }
          >
            {clusterOptions(props.clusters.names ?? [], props.source.cluster, form.cluster).map(
              option => (
                <MenuItem key={option.name} value={option.name}>
                  {option.configured || props.clusters.loading
                    ? option.name
                    : `${option.name} (not configured)`}
                </MenuItem>
              ),
            )}
          </TextField>
        )}
        <TextField
          id="restore-namespace"
          label="Target namespace"
          variant="outlined"
          fullWidth
          value={form.namespace}
          error={Boolean(errors.namespace)}
          helperText={errors.namespace ?? `The backup was taken from ${props.source.namespace}`}
          onChange={e => onChange({ ...form, namespace: e.target.value })}
        />
      </Box>
      {elsewhere && props.elsewhereReason && (
        <Box mb={2}>
          <Alert severity="info">
            Restoring outside {props.source.cluster} / {props.source.namespace} may be refused:{' '}
            {props.elsewhereReason}
          </Alert>
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
