import { Box, makeStyles, Typography } from '@material-ui/core';
import type { ReactNode } from 'react';

const useStyles = makeStyles(theme => ({
  section: { marginTop: theme.spacing(3) },
  title: { marginBottom: theme.spacing(1) },
}));

/** A titled block of a detail drawer. */
export const DetailSection = (props: { title: string; count?: number; children: ReactNode }) => {
  const classes = useStyles();
  return (
    <Box className={classes.section} component="section" aria-label={props.title}>
      <Typography variant="h6" className={classes.title}>
        {props.title}
        {props.count !== undefined ? ` (${props.count})` : ''}
      </Typography>
      {props.children}
    </Box>
  );
};
