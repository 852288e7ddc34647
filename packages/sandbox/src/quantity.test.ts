import { quantityToBytes } from './quantity';

describe('quantityToBytes', () => {
  it.each([
    ['8Mi', 8 * 1024 * 1024],
    ['1Gi', 1024 ** 3],
    ['500M', 500_000_000],
    ['1e3', 1000],
    ['1.5Ki', 1536],
    ['1000', 1000],
    [2048, 2048],
  ])('reads %p', (input, bytes) => {
    expect(quantityToBytes(input)).toBe(bytes);
  });

  it('names the field of a bad quantity', () => {
    expect(() => quantityToBytes('eight megs', 'spec.resources.requests.storage')).toThrow(
      'spec.resources.requests.storage "eight megs" is not a Kubernetes quantity',
    );
  });
});
