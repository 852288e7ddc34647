import { Box, Button } from '@material-ui/core';
import { Alert, AlertTitle } from '@material-ui/lab';
import type { RestoreImagePlan } from '@ferry/plugin-backup-common';

/** "it", "them", "one of them", "2 of them": `part` of the `total` unavailable images. */
function which(part: number, total: number): string {
  if (part === total) return part === 1 ? 'it' : 'them';
  return part === 1 ? 'one of them' : `${part} of them`;
}

/**
 * Warns, in the dry run, about images that can neither be pulled nor pushed: the pods that run
 * them will not start. When the backup holds a copy and image restore is off, says so and offers
 * to go back and configure it.
 */
export const UnavailableImagesAlert = (props: {
  images: RestoreImagePlan[];
  imageRestoreEnabled: boolean;
  onConfigureImageRestore?: () => void;
  className?: string;
}) => {
  const unavailable = props.images.filter(i => i.action === 'unavailable');
  if (unavailable.length === 0) return null;
  const pushable = unavailable.filter(i => i.stored);
  const lost = unavailable.filter(i => !i.stored);
  const configure = pushable.length > 0 && !props.imageRestoreEnabled;
  return (
    <Alert
      severity="warning"
      className={props.className}
      action={
        configure && props.onConfigureImageRestore ? (
          <Button color="inherit" size="small" onClick={props.onConfigureImageRestore}>
            Configure image restore
          </Button>
        ) : undefined
      }
    >
      <AlertTitle>
        {unavailable.length === 1 ? '1 image is unavailable' : `${unavailable.length} images are unavailable`}
      </AlertTitle>
      The original cannot be pulled and nothing will be pushed in its place: pods that run{' '}
      {unavailable.length === 1 ? 'it' : 'them'} will not start.
      <ul>
        {unavailable.map(image => (
          <li key={image.image}>
            <code>{image.image}</code> ({image.stored ? 'the backup holds a copy' : 'no copy in the backup'})
          </li>
        ))}
      </ul>
      {configure && (
        <Box>
          The backup holds a copy of {which(pushable.length, unavailable.length)}: configure image
          restore with a registry the cluster can pull from, and Ferry pushes{' '}
          {pushable.length === 1 ? 'it' : 'them'} there and points the workloads at the copy.
        </Box>
      )}
      {lost.length > 0 && (
        <Box>
          The backup holds no copy of {which(lost.length, unavailable.length)} (image backup was
          skipped or failed): make the original pullable again.
        </Box>
      )}
    </Alert>
  );
};
