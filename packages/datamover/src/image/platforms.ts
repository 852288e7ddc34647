import { DatamoverError } from '../errors';

/** `os/architecture[/variant]`, e.g. `linux/amd64`, `linux/arm64/v8`. */
export interface PlatformFilter {
  os: string;
  architecture: string;
  variant?: string;
}

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

export function parsePlatforms(list: string[]): PlatformFilter[] {
  return list.map(p => {
    if (!PLATFORM.test(p)) {
      throw new DatamoverError('USAGE', `--platforms entry "${p}" must be os/architecture[/variant], e.g. linux/amd64`);
    }
    const [os, architecture, variant] = p.split('/');
    return { os, architecture, variant };
  });
}

export function platformMatches(
  filters: PlatformFilter[],
  platform: { os?: string; architecture?: string; variant?: string } | undefined,
): boolean {
  if (!platform) return false;
  return filters.some(
    f => f.os === platform.os && f.architecture === platform.architecture && (f.variant === undefined || f.variant === platform.variant),
  );
}

export function platformName(p: PlatformFilter): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}
