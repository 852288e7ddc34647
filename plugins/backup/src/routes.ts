import { createRouteRef } from '@backstage/core-plugin-api';

export const backupsRouteRef = createRouteRef({ id: 'backup:backups' });
export const restoresRouteRef = createRouteRef({ id: 'backup:restores' });
