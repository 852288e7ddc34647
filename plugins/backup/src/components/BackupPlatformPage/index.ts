export { BackupPlatformPage } from './BackupPlatformPage';
export { StoredBytesChart, incrementalSavings } from './StoredBytesChart';
