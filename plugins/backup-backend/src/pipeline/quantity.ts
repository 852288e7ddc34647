import { quantityToBytes } from '../mapping/quantity';

/** Bytes of a Kubernetes storage quantity ("1Gi", "500M"); undefined when absent or invalid. */
export function parseQuantity(value: string | undefined): number | undefined {
  if (!value) return undefined;
  try {
    return quantityToBytes(value);
  } catch {
    return undefined;
  }
}
