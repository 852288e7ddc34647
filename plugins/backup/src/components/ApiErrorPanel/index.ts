export { ApiErrorPanel, backendMessage } from './ApiErrorPanel';
