export { DemoSignInPage, DEMO_USER_HEADER, DEMO_USER_STORAGE_KEY } from './DemoSignInPage';
export type { DemoUser } from './DemoSignInPage';
