export { RestoreDetailDrawer } from './RestoreDetailDrawer';
export { RestoreDetailView } from './RestoreDetailView';
export { RestoredObjects } from './RestoredObjects';
export { RestoredImages } from './RestoredImages';
