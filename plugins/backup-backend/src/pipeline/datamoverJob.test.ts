import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type V1Job, type V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from './KubeClients';
import { jobTimings, runDatamoverJob } from './datamoverJob';
import { closedPortKubeConfig } from './__testUtils__/closedPortKubeConfig';

const result = {
  type: 'result',
  operation: 'volume-backup',
  timings: {
    processStartedAt: '2026-12-07T10:00:02.120Z',
    startedAt: '2026-12-07T10:00:02.300Z',
    finishedAt: '2026-12-07T10:00:05.900Z',
  },
};

function podPhase(terminated?: { exitCode: number }): string {
  if (!terminated) return 'Running';
  return terminated.exitCode === 0 ? 'Succeeded' : 'Failed';
}

function pod(terminated?: { exitCode: number; message: string }): V1Pod {
  return {
    metadata: { name: 'job-abc', creationTimestamp: new Date('2026-12-07T10:00:01Z') },
    status: {
      phase: podPhase(terminated),
      conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date('2026-12-07T10:00:01Z') }],
      containerStatuses: [
        {
          name: 'datamover',
          image: 'x',
          imageID: 'x',
          ready: false,
          restartCount: 0,
          state: terminated
            ? {
                terminated: {
                  ...terminated,
                  startedAt: new Date('2026-12-07T10:00:02Z'),
                  finishedAt: new Date('2026-12-07T10:00:06Z'),
                },
              }
            : { running: { startedAt: new Date('2026-12-07T10:00:02Z') } },
        },
      ],
    },
  };
}

/** Kubernetes clients whose Job never reports Complete: only the pod says it ended. */
function fakeKube(pods: V1Pod[], server = 'https://127.0.0.1:1'): KubeClients {
  const kubeConfig = closedPortKubeConfig(server);
  let polls = 0;
  return {
    kubeConfig,
    batch: {
      createNamespacedJob: async () => ({}),
      readNamespacedJob: async () => ({ status: {} }) as V1Job,
    },
    core: {
      listNamespacedPod: async () => ({ items: [pods[Math.min(polls++, pods.length - 1)]] }),
      readNamespacedPodLog: async () => '',
    },
  } as unknown as KubeClients;
}

const job: V1Job = { metadata: { name: 'job', namespace: 'ns' } };

describe('datamover Jobs', () => {
  it('end when the container has terminated, before the Job is marked, with their times', async () => {
    const done = pod({ exitCode: 0, message: JSON.stringify(result) });
    const outcome = await runDatamoverJob({ kube: fakeKube([pod(), done]), job, timeoutMs: 10_000 });
    expect(outcome).toMatchObject({
      ok: true,
      result: { type: 'result' },
      timings: {
        podCreatedAt: '2026-12-07T10:00:01.000Z',
        podScheduledAt: '2026-12-07T10:00:01.000Z',
        containerStartedAt: '2026-12-07T10:00:02.000Z',
        containerFinishedAt: '2026-12-07T10:00:06.000Z',
        processStartedAt: '2026-12-07T10:00:02.120Z',
        dataStartedAt: '2026-12-07T10:00:02.300Z',
        dataFinishedAt: '2026-12-07T10:00:05.900Z',
      },
    });
    const t = (outcome as unknown as { timings: Record<string, string> }).timings;
    expect(Date.parse(t.doneAt)).toBeGreaterThanOrEqual(Date.parse(t.jobCreatedAt));
  });

  it('report a failed container with the datamover error, whatever the Job says yet', async () => {
    const error = { type: 'error', code: 'DEVICE_MISSING', exitCode: 12, message: 'device /dev/x does not exist' };
    const outcome = await runDatamoverJob({ kube: fakeKube([pod({ exitCode: 12, message: JSON.stringify(error) })]), job, timeoutMs: 10_000 });
    expect(outcome).toMatchObject({ ok: false, reason: 'DEVICE_MISSING: device /dev/x does not exist' });
  });

  it("end at the datamover's result line in its followed log, before the container's end is reported", async () => {
    // an API server's pod log endpoint (follow): a progress line, then the result; the stream
    // stays open (the process has not exited yet)
    const seen: string[] = [];
    const api = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      if (!req.url?.startsWith('/api/v1/namespaces/ns/pods/job-abc/log')) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('{"type":"progress","phase":"read","bytesRead":10}\nStarting\n');
      setTimeout(() => res.write(`${JSON.stringify(result)}\n`), 100);
    });
    await new Promise<void>(resolve => api.listen(0, '127.0.0.1', resolve));
    try {
      const progress: unknown[] = [];
      const started = Date.now();
      const outcome = await runDatamoverJob({
        kube: fakeKube([pod()], `http://127.0.0.1:${(api.address() as AddressInfo).port}`),
        job,
        timeoutMs: 10_000,
        onProgress: p => {
          progress.push(p);
        },
      });
      expect(outcome).toMatchObject({ ok: true, result: { type: 'result' }, timings: { dataFinishedAt: '2026-12-07T10:00:05.900Z' } });
      expect(progress).toContainEqual(expect.objectContaining({ phase: 'read', bytesRead: 10 }));
      expect(seen.some(u => u.includes('follow=true') && u.includes('container=datamover'))).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      api.closeAllConnections();
      api.close();
    }
  });

  it('leave out the times nobody knows', () => {
    const t = jobTimings({ jobCreatedAt: '2026-12-07T10:00:00.000Z' });
    expect(Object.keys(t).sort()).toEqual(['doneAt', 'jobCreatedAt']);
  });
});
