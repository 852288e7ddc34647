export { EntityRestoresContent } from './EntityRestoresContent';
