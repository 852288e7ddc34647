import { StatusError } from '@backstage/core-components';
import { Box, Typography } from '@material-ui/core';
import type { TargetProtection as Protection } from '@ferry/plugin-backup-common';

/**
 * How a target protects what it stores: encrypted with the key in which Secret (its current
 * key's id, or why the Secret cannot be read) and S3 Object Lock (mode, days), or neither.
 */
export const TargetProtection = ({ protection }: { protection?: Protection }) => {
  if (!protection?.encryption && !protection?.objectLock) {
    return (
      <Typography variant="body2" color="textSecondary">
        Not encrypted, not locked
      </Typography>
    );
  }
  const { encryption, objectLock } = protection;
  return (
    <Box>
      {encryption ? (
        <>
          <Typography variant="body2">
            Encrypted{encryption.keyId ? ` · key ${encryption.keyId}` : ''}
          </Typography>
          <Typography variant="caption" display="block" color="textSecondary">
            Key in Secret {encryption.secret}
          </Typography>
          {encryption.problem && <StatusError>{encryption.problem}</StatusError>}
        </>
      ) : (
        <Typography variant="body2">Not encrypted</Typography>
      )}
      <Typography variant="body2">
        {objectLock
          ? `Object Lock: ${objectLock.mode}, ${objectLock.days} ${objectLock.days === 1 ? 'day' : 'days'}`
          : 'Not locked'}
      </Typography>
    </Box>
  );
};
