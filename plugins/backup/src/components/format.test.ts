import { formatBytes, formatDuration, formatRelative, formatTrigger, shortDigest } from './format';

describe('format', () => {
  it('formats bytes in binary units', () => {
    expect(formatBytes(undefined)).toBe('—');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(4 * 1024 ** 3)).toBe('4.0 GiB');
    expect(formatBytes(200 * 1024 ** 2)).toBe('200 MiB');
  });

  it('formats durations', () => {
    const start = '2026-11-25T10:00:00Z';
    expect(formatDuration(start, undefined)).toBe('—');
    expect(formatDuration(start, '2026-11-25T10:00:42Z')).toBe('42 s');
    expect(formatDuration(start, '2026-11-25T10:03:05Z')).toBe('3 min 5 s');
    expect(formatDuration(start, '2026-11-25T11:02:00Z')).toBe('1 h 2 min');
  });

  it('names who started an operation', () => {
    expect(formatTrigger({ type: 'user', userEntityRef: 'user:default/ann' })).toBe('ann');
    expect(formatTrigger({ type: 'schedule', policy: 'daily' })).toBe('schedule (daily)');
    expect(formatTrigger({ type: 'kubernetes' })).toBe('kubectl / GitOps');
  });

  it('formats times relative to now', () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    expect(formatRelative('2026-11-25T11:59:30Z', now)).toBe('just now');
    expect(formatRelative('2026-11-25T11:55:00Z', now)).toBe('5 min ago');
    expect(formatRelative('2026-11-25T09:00:00Z', now)).toBe('3 h ago');
    expect(formatRelative('2026-11-22T12:00:00Z', now)).toBe('3 days ago');
    expect(formatRelative('2026-11-25T17:30:00Z', now)).toBe('in 5 h');
  });

  it('shortens digests to the algorithm and 12 hex digits', () => {
    expect(shortDigest(`sha256:${'0123456789abcdef'.repeat(4)}`)).toBe('sha256:0123456789ab');
    expect(shortDigest('0123456789abcdef')).toBe('0123456789ab');
  });
});
