import type { TableColumn } from '@backstage/core-components';
import type { CSSProperties } from 'react';
import type { BackupSummary } from '@ferry/plugin-backup-common';
import { formatBytes, formatDuration, formatTrigger } from '../format';
import { PhaseChip } from '../PhaseChip';

/** The Backups tab's columns; `actions` renders the last one (e.g. a restore button). */
const nowrap: CSSProperties = { whiteSpace: 'nowrap' };

export function backupColumns(
  actions: (backup: BackupSummary) => JSX.Element,
): TableColumn<BackupSummary>[] {
  return [
    { title: 'Time', cellStyle: nowrap, render: b => new Date(b.createdAt).toLocaleString() },
    { title: 'Type', cellStyle: nowrap, render: b => (b.kind === 'full' ? 'Full' : 'Incremental') },
    { title: 'Phase', cellStyle: nowrap, render: b => <PhaseChip phase={b.phase} /> },
    { title: 'Logical size', cellStyle: nowrap, render: b => formatBytes(b.logicalBytes) },
    { title: 'Stored size', cellStyle: nowrap, render: b => formatBytes(b.storedBytes) },
    { title: 'Duration', cellStyle: nowrap, render: b => formatDuration(b.createdAt, b.completedAt) },
    { title: 'Policy', render: b => b.policy ?? '—' },
    { title: 'Started by', render: b => formatTrigger(b.trigger) },
    { title: '', render: actions, align: 'right' },
  ];
}
