/**
 * Typed errors of the QCOW2 package. `kind` discriminates them:
 * - `corrupt`: the image contradicts the format (bad magic, value out of range, broken table);
 * - `unsupported`: a valid image using a feature this package does not implement;
 * - `invalid-argument`: the caller passed something unusable (e.g. a cluster index out of order);
 * - `passphrase-missing`: an image is encrypted and no passphrase was given for it;
 * - `passphrase-wrong`: the passphrase opens none of the image's LUKS key slots.
 * Messages are lower-case and name the field or object concerned; they never contain a
 * passphrase or key.
 */
export type Qcow2ErrorKind =
  | 'corrupt'
  | 'unsupported'
  | 'invalid-argument'
  | 'passphrase-missing'
  | 'passphrase-wrong';

export class Qcow2Error extends Error {
  readonly kind: Qcow2ErrorKind;

  constructor(kind: Qcow2ErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = 'Qcow2Error';
  }
}

export function corrupt(message: string): Qcow2Error {
  return new Qcow2Error('corrupt', message);
}

export function unsupported(message: string): Qcow2Error {
  return new Qcow2Error('unsupported', message);
}

export function invalidArgument(message: string): Qcow2Error {
  return new Qcow2Error('invalid-argument', message);
}
