import type { Entity } from '@backstage/catalog-model';
import {
  Button,
  ButtonGroup,
  ListItemText,
  Menu,
  MenuItem,
} from '@material-ui/core';
import ArrowDropDownIcon from '@material-ui/icons/ArrowDropDown';
import BackupIcon from '@material-ui/icons/Backup';
import { backupCreatePermission, BackupTypeRequest } from '@ferry/plugin-backup-common';
import { useRef, useState } from 'react';
import { useActionPermission } from '../../hooks/useActionPermission';
import { PermissionTooltip } from '../PermissionTooltip';

const choices: Array<{ type: BackupTypeRequest; label: string; description: string }> = [
  {
    type: 'auto',
    label: 'Auto',
    description: 'Incremental when the chain is intact and the policy allows it, else full',
  },
  { type: 'full', label: 'Full', description: 'A new base image of every volume' },
  { type: 'incremental', label: 'Incremental', description: 'Only clusters changed since the last backup' },
];

/** "Back up now" with a menu for full/incremental; disabled with the reason when not permitted. */
export const BackupNowButton = (props: {
  entity: Entity;
  busy?: boolean;
  onBackup: (type: BackupTypeRequest) => void;
}) => {
  const permission = useActionPermission({
    permission: backupCreatePermission,
    entity: props.entity,
    action: 'back up',
  });
  const anchor = useRef<HTMLDivElement>(null);
  const [open, setOpen] = useState(false);
  const disabled = !permission.allowed || props.busy;
  const choose = (type: BackupTypeRequest) => {
    setOpen(false);
    props.onBackup(type);
  };
  return (
    <>
      <PermissionTooltip reason={permission.reason}>
        <ButtonGroup variant="contained" color="primary" ref={anchor} disabled={disabled}>
          <Button startIcon={<BackupIcon />} onClick={() => choose('auto')}>
            Back up now
          </Button>
          <Button
            size="small"
            aria-label="choose backup type"
            aria-haspopup="menu"
            onClick={() => setOpen(true)}
          >
            <ArrowDropDownIcon />
          </Button>
        </ButtonGroup>
      </PermissionTooltip>
      <Menu anchorEl={anchor.current} open={open} onClose={() => setOpen(false)}>
        {choices.map(choice => (
          <MenuItem key={choice.type} onClick={() => choose(choice.type)}>
            <ListItemText primary={choice.label} secondary={choice.description} />
          </MenuItem>
        ))}
      </Menu>
    </>
  );
};
