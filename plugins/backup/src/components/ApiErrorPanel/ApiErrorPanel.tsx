import { ResponseErrorPanel } from '@backstage/core-components';
import { isError, ResponseError } from '@backstage/errors';

/**
 * Backstage's ResponseErrorPanel, titled with the backend's own message (e.g. "not allowed to
 * backup.read on component:default/ledger") instead of the generic "Request failed with 403".
 */
export const ApiErrorPanel = ({ error }: { error: Error }) => {
  return <ResponseErrorPanel error={error} title={backendMessage(error)} />;
};

/** The backend's own message of a ResponseError, if it sent one. */
export function backendMessage(error: Error): string | undefined {
  return error.name === 'ResponseError' && isError((error as ResponseError).cause)
    ? `${(error as ResponseError).cause.message}`
    : undefined;
}
