import { V1ContainerState, V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

/** What the sandbox kubelet knows about one container. */
export type ContainerRecord = {
  name: string;
  image: string;
  init: boolean;
  restartCount: number;
  state: V1ContainerState;
  lastState?: V1ContainerState;
};

export const containerId = (pod: V1Pod, name: string) => `ferry://${pod.metadata!.uid}/${name}`;

export function waitingRecord(name: string, image: string, init: boolean): ContainerRecord {
  return { name, image, init, restartCount: 0, state: { waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' } } };
}

function condition(pod: V1Pod, type: string, status: boolean, reason?: string): V1PodCondition {
  const previous = pod.status?.conditions?.find(c => c.type === type);
  const value = status ? 'True' : 'False';
  return {
    type,
    status: value,
    reason,
    lastProbeTime: undefined,
    lastTransitionTime: previous && previous.status === value ? previous.lastTransitionTime : new Date(),
  };
}

function toStatus(pod: V1Pod, record: ContainerRecord): V1ContainerStatus {
  const running = Boolean(record.state.running);
  return {
    name: record.name,
    image: record.image,
    imageID: record.image,
    containerID: record.state.waiting ? undefined : containerId(pod, record.name),
    ready: running && !record.init,
    started: running,
    restartCount: record.restartCount,
    state: record.state,
    lastState: record.lastState ?? {},
  };
}

/**
 * The pod status the kubelet reports for a set of container records and a phase. Keeps the
 * PodScheduled condition and fields set by others (qosClass, nominatedNodeName...).
 */
export function podStatus(options: {
  pod: V1Pod;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  podIP: string;
  records: ContainerRecord[];
  reason?: string;
  message?: string;
}): V1PodStatus {
  const { pod, phase, records } = options;
  const init = records.filter(r => r.init);
  const main = records.filter(r => !r.init);
  const initialized = init.every(r => r.state.terminated?.exitCode === 0) || phase === 'Succeeded';
  const allReady = phase === 'Running' && main.every(r => Boolean(r.state.running));
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  let readyReason: string | undefined = allReady ? undefined : 'ContainersNotReady';
  if (terminal) readyReason = 'PodCompleted';
  const scheduled = pod.status?.conditions?.find(c => c.type === 'PodScheduled');
  const startTime = pod.status?.startTime ?? new Date();
  return {
    ...pod.status,
    phase,
    reason: options.reason,
    message: options.message,
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    podIP: options.podIP,
    podIPs: [{ ip: options.podIP }],
    startTime,
    conditions: [
      condition(pod, 'PodReadyToStartContainers', !terminal),
      condition(pod, 'Initialized', initialized, initialized ? undefined : 'ContainersNotInitialized'),
      condition(pod, 'Ready', allReady, readyReason),
      condition(pod, 'ContainersReady', allReady, readyReason),
      ...(scheduled ? [scheduled] : [condition(pod, 'PodScheduled', true)]),
    ],
    initContainerStatuses: init.length > 0 ? init.map(r => toStatus(pod, r)) : undefined,
    containerStatuses: main.map(r => toStatus(pod, r)),
  };
}
