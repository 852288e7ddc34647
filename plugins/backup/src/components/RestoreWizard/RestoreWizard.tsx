import { Entity, getCompoundEntityRef } from '@backstage/catalog-model';
import { Link, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import {
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Step,
  StepLabel,
  Stepper,
} from '@material-ui/core';
import {
  BackupSummary,
  DryRunResult,
  RestoreRequest,
  RestoreSummary,
} from '@ferry/plugin-backup-common';
import { useEffect, useMemo, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { backupApiRef } from '../../api/BackupApi';
import { useEntityTabLink } from '../../hooks/useEntityTabLink';
import { ApiErrorPanel } from '../ApiErrorPanel';
import { RestoreDetailView } from '../RestoreDetail';
import { DryRunPreview } from './DryRunPreview';
import { initialRestoreForm, RestoreForm, RestoreFormErrors, toRestoreRequest } from './restoreForm';
import { TargetStep } from './TargetStep';
import { TransformsStep } from './TransformsStep';

const steps = ['Target', 'Transforms and images', 'Preview (dry run)', 'Restore'];
const targetFields = ['cluster', 'namespace'];

type Preview =
  | { state: 'idle' }
  | { state: 'loading' }
  | { state: 'error'; error: Error }
  | { state: 'ready'; result: DryRunResult; request: RestoreRequest };

/**
 * Restores a backup in four steps: target and flags, transforms and image restore, a dry-run
 * preview of every change, then the restore itself with its live progress.
 */
export const RestoreWizard = (props: {
  entity: Entity;
  backup: BackupSummary;
  onClose: () => void;
  onCreated?: (restore: RestoreSummary) => void;
}) => {
  const api = useApi(backupApiRef);
  const entityRef = useMemo(() => getCompoundEntityRef(props.entity), [props.entity]);
  const restoresLink = useEntityTabLink(props.entity, 'restores');
  // Where this user may restore: loaded once for the wizard (the target step unmounts on Next);
  // async so that a missing or throwing client method rejects instead of throwing in the effect.
  const targets = useAsync(async () => api.getRestoreOptions(entityRef), [api, entityRef]);
  const [step, setStep] = useState(0);
  const [form, setForm] = useState<RestoreForm>(() => initialRestoreForm(props.backup));
  // Without backup.restore.anywhere, the entity's own namespace and cluster are the only choice.
  useEffect(() => {
    const options = targets.value;
    if (options && !options.anywhere) {
      setForm(current => ({ ...current, cluster: options.cluster, namespace: options.namespace }));
    }
  }, [targets.value]);
  const [errors, setErrors] = useState<RestoreFormErrors>({});
  const [preview, setPreview] = useState<Preview>({ state: 'idle' });
  const [creating, setCreating] = useState<{ error?: Error; busy: boolean }>({ busy: false });
  const [created, setCreated] = useState<RestoreSummary>();

  const runDryRun = async (request: RestoreRequest) => {
    setPreview({ state: 'loading' });
    try {
      const result = await api.createRestore(entityRef, { ...request, dryRun: true });
      setPreview({ state: 'ready', result, request });
    } catch (error) {
      setPreview({ state: 'error', error: error as Error });
    }
  };

  const next = () => {
    const { request, errors: found } = toRestoreRequest(props.backup.id, form);
    const relevant = Object.keys(found).filter(key =>
      step === 0 ? targetFields.includes(key) : true,
    );
    setErrors(found);
    if (relevant.length > 0) return;
    if (step === 1) runDryRun(request);
    setStep(step + 1);
  };

  const configureImageRestore = () => {
    setForm(current => ({ ...current, imageRestore: { ...current.imageRestore, enabled: true } }));
    setStep(1);
  };

  const confirm = async () => {
    if (preview.state !== 'ready') return;
    setCreating({ busy: true });
    try {
      const { dryRun: _dryRun, ...request } = preview.request;
      const restore = await api.createRestore(entityRef, request);
      setCreated(restore);
      setCreating({ busy: false });
      setStep(3);
      props.onCreated?.(restore);
    } catch (error) {
      setCreating({ busy: false, error: error as Error });
    }
  };

  return (
    <Dialog open onClose={props.onClose} maxWidth="md" fullWidth aria-labelledby="restore-title">
      <DialogTitle id="restore-title">Restore backup {props.backup.id}</DialogTitle>
      <DialogContent dividers>
        <Stepper activeStep={step} alternativeLabel>
          {steps.map(label => (
            <Step key={label}>
              <StepLabel>{label}</StepLabel>
            </Step>
          ))}
        </Stepper>
        {step === 0 && (
          <TargetStep
            form={form}
            errors={errors}
            source={props.backup}
            entityTitle={props.entity.metadata.title ?? props.entity.metadata.name}
            targets={{ loading: targets.loading, error: targets.error, options: targets.value }}
            onChange={setForm}
          />
        )}
        {step === 1 && (
          <TransformsStep
            form={form}
            errors={errors}
            sourceNamespace={props.backup.namespace}
            options={targets.value}
            onChange={setForm}
          />
        )}
        {step === 2 && (
          <Box>
            {preview.state === 'loading' && <Progress />}
            {preview.state === 'error' && <ApiErrorPanel error={preview.error} />}
            {preview.state === 'ready' && (
              <DryRunPreview
                result={preview.result}
                imageRestore={preview.request.imageRestore}
                onConfigureImageRestore={configureImageRestore}
              />
            )}
            {creating.error && (
              <Box mt={2}>
                <ApiErrorPanel error={creating.error} />
              </Box>
            )}
          </Box>
        )}
        {step === 3 && created && (
          <RestoreDetailView entityRef={entityRef} restoreId={created.id} />
        )}
      </DialogContent>
      <DialogActions>
        {step === 3 && created ? (
          <>
            <Link to={`${restoresLink}?restore=${encodeURIComponent(created.id)}`}>
              Open in the Restores tab
            </Link>
            <Box flexGrow={1} />
            <Button onClick={props.onClose} color="primary">
              Close
            </Button>
          </>
        ) : (
          <>
            <Button onClick={props.onClose}>Cancel</Button>
            {step > 0 && (
              <Button onClick={() => setStep(step - 1)} disabled={creating.busy}>
                Back
              </Button>
            )}
            {step < 2 && (
              <Button variant="contained" color="primary" onClick={next}>
                {step === 1 ? 'Preview' : 'Next'}
              </Button>
            )}
            {step === 2 && (
              <Button
                variant="contained"
                color="primary"
                onClick={confirm}
                disabled={preview.state !== 'ready' || creating.busy}
              >
                Restore
              </Button>
            )}
          </>
        )}
      </DialogActions>
    </Dialog>
  );
};
