import { ipv4ToNumber, prefixesOverlap } from './network';

describe('IPv4 prefixes', () => {
  it('tells overlapping prefixes from disjoint ones', () => {
    const p = (address: string, length: number): [number, number] => [ipv4ToNumber(address), length];
    expect(prefixesOverlap(p('10.234.3.1', 24), p('10.234.3.0', 24))).toBe(true);
    expect(prefixesOverlap(p('10.234.3.1', 24), p('10.0.0.0', 8))).toBe(true);
    expect(prefixesOverlap(p('10.234.3.1', 24), p('10.234.4.0', 24))).toBe(false);
    expect(prefixesOverlap(p('10.234.3.1', 24), p('192.0.2.0', 24))).toBe(false);
    expect(prefixesOverlap(p('10.234.3.1', 24), p('0.0.0.0', 0))).toBe(true);
  });
});
