import { labelSelectorProblem } from '../mapping/labelSelector';

/**
 * Whether labels satisfy a Kubernetes label selector string (`key`, `!key`, `key=value`,
 * `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`), as the API server decides a
 * `labelSelector=` list. Throws with the problem when the selector is malformed.
 */
export function matchesLabelSelector(selector: string, labels: Record<string, string> = {}): boolean {
  const problem = labelSelectorProblem(selector);
  if (problem) throw new Error(`label selector '${selector}': ${problem}`);
  return requirements(selector).every(requirement => matches(requirement, labels));
}

function requirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current.trim());
  return parts.filter(Boolean);
}

function matches(requirement: string, labels: Record<string, string>): boolean {
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(requirement);
  if (set) {
    const values = set[3].split(',').map(v => v.trim());
    const has = set[1] in labels && values.includes(labels[set[1]]);
    return set[2] === 'in' ? has : !has;
  }
  const inequality = /^([^!=\s]+)\s*!=\s*(.*)$/.exec(requirement);
  if (inequality) return labels[inequality[1]] !== inequality[2].trim();
  const equality = /^([^!=\s]+)\s*==?\s*(.*)$/.exec(requirement);
  if (equality) return labels[equality[1]] === equality[2].trim();
  if (requirement.startsWith('!')) return !(requirement.slice(1).trim() in labels);
  return requirement in labels;
}
