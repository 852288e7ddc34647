export { OperationProgress } from './OperationProgress';
export { OperationTimeline } from './OperationTimeline';
export { VolumeProgressList } from './VolumeProgressList';
