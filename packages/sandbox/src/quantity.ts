const suffixes: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Bytes of a Kubernetes quantity (e.g. "1Gi", "500M", "1e9"), rounded up to a whole byte. */
export function quantityToBytes(quantity: string | number, field = 'quantity'): number {
  if (typeof quantity === 'number') return Math.ceil(quantity);
  const match = /^([+]?[0-9]*\.?[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)|[eE]([+-]?[0-9]+))?$/.exec(quantity.trim());
  if (!match) throw new Error(`${field} "${quantity}" is not a Kubernetes quantity`);
  const value = Number(match[1]);
  const multiplier = match[3] !== undefined ? 10 ** Number(match[3]) : suffixes[match[2] ?? ''];
  return Math.ceil(value * multiplier);
}
