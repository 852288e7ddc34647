import type { TableColumn } from '@backstage/core-components';
import type { BackupSummary } from '@ferry/plugin-backup-common';
import { formatBytes, formatDuration, formatTrigger } from '../format';
import { PhaseChip } from '../PhaseChip';

/** The Backups tab's columns; `actions` renders the last one (e.g. a restore button). */
export function backupColumns(
  actions: (backup: BackupSummary) => JSX.Element,
): TableColumn<BackupSummary>[] {
  return [
    { title: 'Time', render: b => new Date(b.createdAt).toLocaleString() },
    { title: 'Type', render: b => (b.kind === 'full' ? 'Full' : 'Incremental') },
    { title: 'Phase', render: b => <PhaseChip phase={b.phase} /> },
    { title: 'Logical size', render: b => formatBytes(b.logicalBytes) },
    { title: 'Stored size', render: b => formatBytes(b.storedBytes) },
    { title: 'Duration', render: b => formatDuration(b.createdAt, b.completedAt) },
    { title: 'Policy', render: b => b.policy ?? '—' },
    { title: 'Started by', render: b => formatTrigger(b.trigger) },
    { title: '', render: actions, align: 'right' },
  ];
}
