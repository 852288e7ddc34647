import fs from 'node:fs';
import path from 'node:path';
import { nodePaths } from './paths';

/**
 * A container's log as the kubelet writes it (CRI format: `<time> <stream> <P|F> <text>` lines in
 * `<podLogsDir>/<namespace>_<pod>_<uid>/<container>/<restart>.log`), as plain text: the newest
 * restart's file, partial lines joined. Undefined when the pod or container has no log.
 */
export function readCriPodLog(options: { podLogsDir: string; namespace: string; pod: string; container?: string }): string | undefined {
  if (!fs.existsSync(options.podLogsDir)) return undefined;
  const podDir = fs.readdirSync(options.podLogsDir).find(name => name.startsWith(`${options.namespace}_${options.pod}_`));
  if (!podDir) return undefined;
  const containers = fs.readdirSync(path.join(options.podLogsDir, podDir));
  const container = options.container ?? (containers.length === 1 ? containers[0] : undefined);
  if (!container || !containers.includes(container)) return undefined;
  const dir = path.join(options.podLogsDir, podDir, container);
  const files = fs
    .readdirSync(dir)
    .filter(f => /^\d+\.log$/.test(f))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
  if (files.length === 0) return undefined;
  return criLogText(fs.readFileSync(path.join(dir, files[files.length - 1]), 'utf8'));
}

/**
 * A container's log from a sandbox's data folder (its node's pod-log folder), also from another
 * process than the sandbox's. Undefined when the pod or container has no log.
 */
export function readPodLog(options: { dataDir: string; namespace: string; pod: string; container?: string }): string | undefined {
  const { dataDir, ...target } = options;
  return readCriPodLog({ podLogsDir: nodePaths(path.join(dataDir, 'node')).podLogs, ...target });
}

/** The text of CRI log lines (timestamps and stream names dropped, `P` partial lines joined). */
export function criLogText(raw: string): string {
  let text = '';
  for (const line of raw.split('\n')) {
    const match = /^\S+ (?:stdout|stderr) ([PF]) ?(.*)$/.exec(line);
    if (!match) continue;
    text += match[1] === 'P' ? match[2] : `${match[2]}\n`;
  }
  return text;
}
