import { StatusAborted, StatusError, StatusOK, StatusWarning } from '@backstage/core-components';
import {
  makeStyles,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@material-ui/core';
import type { BackupDetail, HookResult } from '@ferry/plugin-backup-common';
import { Fragment } from 'react';

const useStyles = makeStyles(theme => ({
  mono: { fontFamily: 'monospace', fontSize: '0.8rem', wordBreak: 'break-all' },
  nowrap: { whiteSpace: 'nowrap' },
  detail: { borderBottom: 'none' },
  output: {
    fontFamily: 'monospace',
    fontSize: '0.75rem',
    margin: theme.spacing(0.5, 0, 0),
    padding: theme.spacing(0.5, 1),
    background: theme.palette.background.default,
    whiteSpace: 'pre-wrap',
    wordBreak: 'break-all',
    maxHeight: 160,
    overflow: 'auto',
  },
}));

/** An argument with spaces or quotes is shown quoted, so the command reads as it ran. */
function formatCommand(command: string[]): string {
  return command.map(part => (/^[\w@%+=:,./-]+$/.test(part) ? part : JSON.stringify(part))).join(' ');
}

function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const Outcome = ({ hook }: { hook: HookResult }) => {
  switch (hook.outcome) {
    case 'Succeeded':
      return <StatusOK>Succeeded</StatusOK>;
    case 'Failed':
      return hook.onError === 'Continue' ? (
        <StatusWarning>Failed, continued</StatusWarning>
      ) : (
        <StatusError>Failed</StatusError>
      );
    default:
      return <StatusAborted>Skipped</StatusAborted>;
  }
};

const Output = (props: { label: string; text?: string }) => {
  const classes = useStyles();
  if (!props.text) return null;
  return (
    <>
      <Typography variant="caption" color="textSecondary">
        {props.label}
      </Typography>
      <pre className={classes.output} aria-label={props.label}>
        {props.text}
      </pre>
    </>
  );
};

/**
 * Each hook that ran around the snapshots, in order: stage, where it ran (pod, container, and
 * whether a pod annotation or the Backup's spec declared it), the command, its outcome with the
 * exit code and duration, and below it the reason and the last lines of its output.
 */
export const BackupHooks = ({ backup }: { backup: BackupDetail }) => {
  const classes = useStyles();
  if (backup.hooks.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        No hooks ran.
      </Typography>
    );
  }
  return (
    <Table size="small" aria-label="hooks">
      <TableHead>
        <TableRow>
          <TableCell>Stage</TableCell>
          <TableCell>Pod / container</TableCell>
          <TableCell>Command</TableCell>
          <TableCell>Outcome</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {backup.hooks.map((hook, index) => {
          const detailed = Boolean(hook.message || hook.stdout || hook.stderr);
          const exit = hook.exitCode === undefined ? undefined : `exit ${hook.exitCode}`;
          return (
            <Fragment key={`${hook.stage}-${index}`}>
              <TableRow aria-label={`${hook.stage}-hook ${hook.name}`}>
                <TableCell className={classes.nowrap}>{hook.stage === 'pre' ? 'Pre' : 'Post'}</TableCell>
                <TableCell>
                  <Typography variant="body2">{hook.pod ?? '—'}</Typography>
                  <Typography variant="caption" color="textSecondary">
                    {[hook.container, hook.source === 'annotation' ? 'pod annotation' : 'Backup spec']
                      .filter(Boolean)
                      .join(' · ')}
                  </Typography>
                </TableCell>
                <TableCell className={classes.mono}>{formatCommand(hook.command ?? [])}</TableCell>
                <TableCell className={classes.nowrap}>
                  <Outcome hook={hook} />
                  <Typography variant="caption" color="textSecondary" display="block">
                    {[exit, formatMs(hook.durationMs)].filter(Boolean).join(' · ')}
                  </Typography>
                </TableCell>
              </TableRow>
              {detailed && (
                <TableRow aria-label={`${hook.stage}-hook output ${hook.name}`}>
                  <TableCell colSpan={4} className={classes.detail}>
                    {hook.message && <Typography variant="body2">{hook.message}</Typography>}
                    <Output label="stderr" text={hook.stderr} />
                    <Output label="stdout" text={hook.stdout} />
                  </TableCell>
                </TableRow>
              )}
            </Fragment>
          );
        })}
      </TableBody>
    </Table>
  );
};
