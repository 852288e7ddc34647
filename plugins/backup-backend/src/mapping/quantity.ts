const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/**
 * Bytes of a Kubernetes resource quantity (`64Mi`, `1G`, `1.5Gi`, `1e9`), rounded up to a whole
 * byte. client-node has a parser but does not export it from its package entry point.
 */
export function quantityToBytes(quantity: string): number {
  const match = /^([+]?[0-9]*\.?[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[kMGTPE]|[eE][+-]?[0-9]+)?$/.exec(quantity.trim());
  if (!match) {
    throw new Error(`'${quantity}' is not a kubernetes quantity`);
  }
  const [, number, suffix = ''] = match;
  const value = Number(number);
  const factor = BINARY[suffix] ?? DECIMAL[suffix] ?? 10 ** Number(suffix.slice(1));
  return Math.ceil(value * factor);
}
