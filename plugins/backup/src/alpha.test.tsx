import backupPlugin from './alpha';

describe('@ferry/plugin-backup/alpha', () => {
  it('provides the API, both entity tabs, the overview card and the platform page', () => {
    expect(backupPlugin.pluginId).toBe('backup');
    const tabs = backupPlugin.getExtension('entity-content:backup/backups');
    expect(tabs).toBeDefined();
    expect(backupPlugin.getExtension('entity-content:backup/restores')).toBeDefined();
    expect(backupPlugin.getExtension('entity-card:backup/status')).toBeDefined();
    expect(backupPlugin.getExtension('page:backup')).toBeDefined();
    expect(backupPlugin.getExtension('api:backup')).toBeDefined();
    // getExtension throws for an id the plugin does not provide, so the lines above are checks.
    expect(() => (backupPlugin as any).getExtension('page:backup/missing')).toThrow(/non-existent/);
    expect(Object.keys(backupPlugin.routes).sort()).toEqual(['backups', 'platform', 'restores']);
  });
});
