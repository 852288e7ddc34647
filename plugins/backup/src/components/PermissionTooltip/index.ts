export { PermissionTooltip } from './PermissionTooltip';
