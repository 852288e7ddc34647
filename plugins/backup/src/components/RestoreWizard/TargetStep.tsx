import {
  Box,
  FormControl,
  FormControlLabel,
  FormLabel,
  Radio,
  RadioGroup,
  TextField,
} from '@material-ui/core';
import { Alert } from '@material-ui/lab';
import type { RestoreForm, RestoreFormErrors } from './restoreForm';

/** Step 1: where to restore, what, and what to do with objects that exist. */
export const TargetStep = (props: {
  form: RestoreForm;
  errors: RestoreFormErrors;
  source: { cluster: string; namespace: string };
  /** Why restoring elsewhere may be refused (no backup.restore.anywhere), if so. */
  elsewhereReason?: string;
  onChange: (form: RestoreForm) => void;
}) => {
  const { form, errors, onChange } = props;
  const elsewhere =
    form.cluster.trim() !== props.source.cluster || form.namespace.trim() !== props.source.namespace;
  return (
    <Box>
      <Box display="flex" style={{ gap: 16 }} mb={2}>
        <TextField
          id="restore-cluster"
          label="Target cluster"
          variant="outlined"
          fullWidth
          value={form.cluster}
          error={Boolean(errors.cluster)}
          helperText={errors.cluster ?? `The backup was taken from ${props.source.cluster}`}
          onChange={e => onChange({ ...form, cluster: e.target.value })}
        />
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
