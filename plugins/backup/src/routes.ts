import { createRouteRef } from '@backstage/core-plugin-api';

export const backupsRouteRef = createRouteRef({ id: 'backup:backups' });
export const restoresRouteRef = createRouteRef({ id: 'backup:restores' });
/** The platform team's page (targets, policies, coverage). */
export const platformRouteRef = createRouteRef({ id: 'backup:platform' });
