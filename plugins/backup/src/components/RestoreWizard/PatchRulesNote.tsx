import { Box, Typography } from '@material-ui/core';
import { Alert } from '@material-ui/lab';

/**
 * What a service owner may patch without `backup.restore.privileged`: the backend's allowlist
 * (plugins/backup-backend/src/access/patchRules.ts, "What a service owner may patch" in its README).
 */
export const OWNER_PATCHABLE_FIELDS = [
  'labels and annotations (metadata.labels, metadata.annotations)',
  'spec.replicas of Deployments, StatefulSets, ReplicaSets and ReplicationControllers',
  "a container's or init container's image, command, args, env, envFrom, resources and imagePullPolicy",
  "a pod template's labels and annotations",
  "a claim's (or a StatefulSet claim template's) storageClassName and resources",
  'ConfigMap data and binaryData, Secret data and stringData',
];

/** Which fields this user's JSON patches may change, said before the preview. */
export const PatchRulesNote = (props: { privileged: boolean }) => {
  if (props.privileged) {
    return (
      <Typography variant="body2" color="textSecondary">
        You may patch any field (backup.restore.privileged), except an object&apos;s apiVersion, kind,
        metadata.name and metadata.namespace: the namespace changes only through the target and the
        namespace map.
      </Typography>
    );
  }
  return (
    <Alert severity="info" aria-label="fields you may patch">
      <Box component="span" display="block">
        Your patches may change only what a service owner may change:
      </Box>
      <ul style={{ margin: '4px 0', paddingLeft: 20 }}>
        {OWNER_PATCHABLE_FIELDS.map(field => (
          <li key={field}>{field}</li>
        ))}
      </ul>
      <Box component="span" display="block">
        Anything else (a securityContext, volumes and hostPath, hostNetwork or hostPID,
        serviceAccountName, a whole container, nodeName, a Service&apos;s type, any Role or
        RoleBinding) may widen privileges and needs the backup.restore.privileged permission
        (platform administrators). No patch may change an object&apos;s apiVersion, kind, name or
        namespace.
      </Box>
    </Alert>
  );
};
