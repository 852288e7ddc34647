import { tempName } from './tempNames';

describe('tempName', () => {
  it('is deterministic, DNS-safe and at most 63 characters', () => {
    const a = tempName({ operationId: '20261125T101500000Z-abcdef', role: 'src', pvc: 'data-db-0' });
    expect(a).toBe(tempName({ operationId: '20261125T101500000Z-abcdef', role: 'src', pvc: 'data-db-0' }));
    expect(a).toMatch(/^ferry-[0-9a-f]{8}-src-data-db-0$/);
    const long = tempName({ operationId: 'x', role: 'backup', pvc: `${'very-long-claim-name-'.repeat(5)}0` });
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(tempName({ operationId: 'y', role: 'backup', pvc: `${'very-long-claim-name-'.repeat(5)}0` })).not.toBe(long);
  });
});
