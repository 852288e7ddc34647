/**
 * Ferry's backend plugin: REST API, catalog entity to application mapping, backup and restore
 * controllers.
 *
 * @packageDocumentation
 */
export { backupPlugin as default } from './plugin';
export type { FerryConfig, TargetConfig, PolicyConfig, DatamoverConfig } from './config/FerryConfig';
