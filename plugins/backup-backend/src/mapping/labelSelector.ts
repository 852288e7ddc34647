/**
 * Checks the syntax of a Kubernetes label selector string (what `labelSelector=` of a list call
 * accepts): comma-separated requirements `key`, `!key`, `key=value`, `key==value`, `key!=value`,
 * `key in (a,b)`, `key notin (a,b)`. Returns a description of the first problem, or undefined.
 *
 * Written here because @kubernetes/client-node has no selector parser, and checking early turns
 * an opaque 400 from the API server into a message naming the annotation.
 */
export function labelSelectorProblem(selector: string): string | undefined {
  const trimmed = selector.trim();
  if (!trimmed) {
    return 'the selector is empty';
  }
  for (const requirement of splitRequirements(trimmed)) {
    const problem = requirementProblem(requirement.trim());
    if (problem) {
      return problem;
    }
  }
  return undefined;
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function keyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key '${key}' has an invalid prefix '${prefix}' (must be a dns subdomain)`;
  }
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) {
    return `label key '${key}' is invalid (a name of at most 63 letters, digits, '-', '_' or '.', optionally prefixed by a dns subdomain and '/')`;
  }
  return undefined;
}

function valueProblem(key: string, value: string): string | undefined {
  if (value.length > 63 || (value.length > 0 && !NAME.test(value))) {
    return `label value '${value}' of '${key}' is invalid (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`;
  }
  return undefined;
}

function requirementProblem(requirement: string): string | undefined {
  if (!requirement) {
    return 'the selector has an empty requirement (two commas in a row, or a trailing comma)';
  }
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(requirement);
  if (set) {
    const [, key, , list] = set;
    const values = list.split(',').map(v => v.trim());
    if (values.length === 0 || values.every(v => v === '')) {
      return `'${requirement}' lists no values`;
    }
    return keyProblem(key) ?? values.map(v => valueProblem(key, v)).find(Boolean);
  }
  const equality = /^([^=!\s]+)\s*(==|!=|=)\s*(.*)$/.exec(requirement);
  if (equality) {
    const [, key, , value] = equality;
    return keyProblem(key) ?? valueProblem(key, value.trim());
  }
  const exists = /^(!?)\s*([^\s=!(),]+)$/.exec(requirement);
  if (exists) {
    return keyProblem(exists[2]);
  }
  return `'${requirement}' is not a label requirement (key, !key, key=value, key!=value, key in (a,b), key notin (a,b))`;
}
