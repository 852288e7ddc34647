import { Tooltip } from '@material-ui/core';
import type { ReactElement } from 'react';

/**
 * Wraps a (possibly disabled) control so that its tooltip still shows: disabled buttons get no
 * pointer events, the span around them does.
 */
export const PermissionTooltip = (props: { reason?: string; children: ReactElement }) =>
  props.reason ? (
    <Tooltip title={props.reason}>
      <span style={{ display: 'inline-block' }}>{props.children}</span>
    </Tooltip>
  ) : (
    props.children
  );
