import { parseQuantity } from './quantity';

describe('parseQuantity', () => {
  it('reads binary and decimal suffixes', () => {
    expect(parseQuantity('1Gi')).toBe(1073741824);
    expect(parseQuantity('64Mi')).toBe(64 * 1024 * 1024);
    expect(parseQuantity('500M')).toBe(500_000_000);
    expect(parseQuantity('1.5Ki')).toBe(1536);
    expect(parseQuantity('4096')).toBe(4096);
  });

  it('refuses what it does not understand', () => {
    expect(parseQuantity(undefined)).toBeUndefined();
    expect(parseQuantity('1Gb')).toBeUndefined();
    expect(parseQuantity('-1Gi')).toBeUndefined();
  });
});
