/**
 * Types shared by Ferry's frontend and backend plugins.
 *
 * @packageDocumentation
 */
export * from './annotations';
export * from './permissions';
export * from './phases';
export * from './api';
export * from './operations';
export * from './restoreOptions';
