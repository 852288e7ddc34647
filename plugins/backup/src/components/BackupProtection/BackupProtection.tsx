import { Box, Chip, makeStyles, Tooltip, Typography } from '@material-ui/core';
import LockIcon from '@material-ui/icons/Lock';
import LockOpenIcon from '@material-ui/icons/LockOpen';
import VpnKeyIcon from '@material-ui/icons/VpnKey';
import CompressIcon from '@material-ui/icons/UnfoldLess';
import type { BackupProtection as Protection } from '@ferry/plugin-backup-common';

const useStyles = makeStyles(theme => ({
  chips: { display: 'flex', flexWrap: 'wrap', gap: theme.spacing(1), alignItems: 'center' },
}));

/** `2026-12-08 13:45 UTC`: a lock's end, the same for everyone who reads it. */
export function formatLockDate(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/**
 * How a backup is protected at rest: encrypted (with the key's id, never the key), compressed
 * (codec) and locked (until when, in which mode), or in the clear / not locked. `now` lets an
 * expired lock read as ended.
 */
export const BackupProtection = (props: { protection?: Protection; now?: number }) => {
  const classes = useStyles();
  const { encryption, compression, lock } = props.protection ?? {};
  const lockActive = lock && Date.parse(lock.until) > (props.now ?? Date.now());
  return (
    <Box className={classes.chips} aria-label="protection">
      {encryption ? (
        <Tooltip title="Volumes are LUKS images and every other object is sealed (AES-256-GCM); the key id names the key in the target's Secret">
          <Chip size="small" icon={<VpnKeyIcon />} label={`Encrypted · key ${encryption.keyId}`} />
        </Tooltip>
      ) : (
        <Chip size="small" variant="outlined" label="Not encrypted" />
      )}
      {compression && <Chip size="small" icon={<CompressIcon />} label={`Compressed · ${compression}`} />}
      {lock && lockActive && (
        <Tooltip
          title={
            lock.mode === 'compliance'
              ? 'S3 Object Lock, compliance mode: nobody can delete it before then'
              : 'S3 Object Lock, governance mode: only users allowed to bypass governance can delete it before then'
          }
        >
          <Chip size="small" icon={<LockIcon />} label={`Locked until ${formatLockDate(lock.until)} (${lock.mode})`} />
        </Tooltip>
      )}
      {lock && !lockActive && (
        <Chip size="small" variant="outlined" icon={<LockOpenIcon />} label={`Lock ended ${formatLockDate(lock.until)}`} />
      )}
      {!lock && (
        <Typography variant="body2" color="textSecondary">
          Not locked
        </Typography>
      )}
    </Box>
  );
};
