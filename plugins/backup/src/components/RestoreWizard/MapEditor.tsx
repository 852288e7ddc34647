import { Box, Button, IconButton, TextField, Typography } from '@material-ui/core';
import AddIcon from '@material-ui/icons/Add';
import RemoveIcon from '@material-ui/icons/RemoveCircleOutline';
import type { MapRow } from './restoreForm';
import type { RestoreFormErrors } from './restoreForm';

/** Editable "from → to" rows, e.g. a storage class map. */
export const MapEditor = (props: {
  label: string;
  field: string;
  fromLabel: string;
  toLabel: string;
  rows: MapRow[];
  errors: RestoreFormErrors;
  /** A sentence under the label, e.g. where this user may map to. */
  help?: string;
  onChange: (rows: MapRow[]) => void;
}) => {
  const update = (index: number, row: Partial<MapRow>) =>
    props.onChange(props.rows.map((r, i) => (i === index ? { ...r, ...row } : r)));
  return (
    <Box mb={2}>
      <Typography variant="subtitle2">{props.label}</Typography>
      {props.help && (
        <Typography variant="body2" color="textSecondary">
          {props.help}
        </Typography>
      )}
      {props.rows.map((row, index) => (
        <Box key={index} display="flex" alignItems="flex-start" style={{ gap: 8 }} mt={1}>
          <TextField
            size="small"
            variant="outlined"
            id={`${props.field}-${index}-from`}
            label={props.fromLabel}
            value={row.from}
            error={Boolean(props.errors[`${props.field}.${index}.from`])}
            helperText={props.errors[`${props.field}.${index}.from`]}
            onChange={e => update(index, { from: e.target.value })}
          />
          <Typography style={{ paddingTop: 8 }}>→</Typography>
          <TextField
            size="small"
            variant="outlined"
            id={`${props.field}-${index}-to`}
            label={props.toLabel}
            value={row.to}
            error={Boolean(props.errors[`${props.field}.${index}.to`])}
            helperText={props.errors[`${props.field}.${index}.to`]}
            onChange={e => update(index, { to: e.target.value })}
          />
          <IconButton
            size="small"
            aria-label={`remove ${props.label} row ${index + 1}`}
            onClick={() => props.onChange(props.rows.filter((_r, i) => i !== index))}
          >
            <RemoveIcon />
          </IconButton>
        </Box>
      ))}
      <Button
        size="small"
        startIcon={<AddIcon />}
        onClick={() => props.onChange([...props.rows, { from: '', to: '' }])}
      >
        Add {props.label.toLocaleLowerCase('en-US')} entry
      </Button>
    </Box>
  );
};
