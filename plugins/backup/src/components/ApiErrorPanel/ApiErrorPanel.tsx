import { ResponseErrorPanel } from '@backstage/core-components';
import { isError, ResponseError } from '@backstage/errors';

/**
 * Backstage's ResponseErrorPanel, titled with the backend's own message (e.g. "not allowed to
 * backup.read on component:default/ledger") instead of the generic "Request failed with 403".
 */
export const ApiErrorPanel = ({ error }: { error: Error }) => {
  const title =
    error.name === 'ResponseError' && isError((error as ResponseError).cause)
      ? `${(error as ResponseError).cause.message}`
      : undefined;
  return <ResponseErrorPanel error={error} title={title} />;
};
