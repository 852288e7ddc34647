import { isMap, parseDocument } from 'yaml';

/**
 * The edits the README asks of files in a create-app app, as plain string transformations of the
 * file's text (so they are unit-tested without an app). Each throws, naming what it looked for,
 * when the file does not have the place the README speaks of: a wrong instruction fails the test.
 */

const isTopLevelStart = (line: string) => /^\S/.test(line) && !/^(\/\/|\/\*|\*)/.test(line);

/** First and last line (0-based, inclusive) of the top-level statement that contains line `at`. */
function statementBounds(lines: string[], at: number): [number, number] {
  let start = at;
  while (start > 0 && !isTopLevelStart(lines[start])) start--;
  let end = start;
  while (end < lines.length && !(lines[end].trimEnd().endsWith(';') && (end === start || /^\S/.test(lines[end])))) end++;
  if (end >= lines.length) throw new Error(`the statement at line ${start + 1} does not end with a semicolon`);
  return [start, end];
}

function findStatement(source: string, anchor: string, file: string): { lines: string[]; start: number; end: number } {
  const lines = source.split('\n');
  const hits = lines.map((l, i) => (l.includes(anchor) ? i : -1)).filter(i => i >= 0);
  if (hits.length !== 1) {
    throw new Error(`${file}: expected one statement with "${anchor}", found ${hits.length}`);
  }
  const [start, end] = statementBounds(lines, hits[0]);
  return { lines, start, end };
}

const asLines = (code: string) => code.replace(/\n+$/, '').split('\n');

/** Inserts `code` on the lines after the top-level statement that mentions `anchor`. */
export function insertAfterStatement(source: string, anchor: string, code: string, file = 'file'): string {
  const { lines, end } = findStatement(source, anchor, file);
  return [...lines.slice(0, end + 1), ...asLines(code), ...lines.slice(end + 1)].join('\n');
}

/** Replaces the top-level statement that mentions `anchor` by `code`. */
export function replaceStatement(source: string, anchor: string, code: string, file = 'file'): string {
  const { lines, start, end } = findStatement(source, anchor, file);
  return [...lines.slice(0, start), ...asLines(code), ...lines.slice(end + 1)].join('\n');
}

/** The import statements at the top of `code` and the rest (leading blank lines dropped). */
export function splitImports(code: string): { imports: string[]; rest: string[] } {
  const lines = asLines(code);
  const imports: string[] = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i].trim() === '') {
      i++;
      continue;
    }
    if (!/^import\s/.test(lines[i])) break;
    let j = i;
    while (j < lines.length && !lines[j].trimEnd().endsWith(';')) j++;
    imports.push(lines.slice(i, j + 1).join('\n'));
    i = j + 1;
  }
  return { imports, rest: lines.slice(i) };
}

const normalise = (text: string) => text.replace(/\s+/g, ' ').trim();

/**
 * The README's "add this to App.tsx": the block's imports go after the file's last import (unless
 * there already), and the top-level statement that starts like the rest of the block (e.g.
 * `export default createApp({`) is replaced by it.
 */
export function editModule(source: string, code: string, file = 'file'): string {
  const { imports, rest } = splitImports(code);
  if (rest.length === 0) throw new Error(`the block for ${file} has nothing but imports`);
  let lines = source.split('\n');
  const first = rest[0].trim();
  const at = lines.findIndex(l => l.trim() === first);
  if (at < 0) throw new Error(`${file}: no line "${first}" to replace`);
  const [start, end] = statementBounds(lines, at);
  lines = [...lines.slice(0, start), ...rest, ...lines.slice(end + 1)];

  const present = new Set(splitImports(lines.join('\n')).imports.map(normalise));
  const missing = imports.filter(i => !present.has(normalise(i)));
  let lastImport = -1;
  lines.forEach((l, i) => {
    if (/^import\s/.test(l)) lastImport = statementBounds(lines, i)[1];
  });
  return [...lines.slice(0, lastImport + 1), ...missing, ...lines.slice(lastImport + 1)].join('\n');
}

/**
 * A YAML file (app-config.yaml) with each top-level key of `block` set to the block's value:
 * replaced when the file has it (create-app's empty `kubernetes:`), added otherwise. The rest of
 * the file, comments included, stays as it is.
 */
export function mergeYamlTopLevel(source: string, block: string, file = 'file'): string {
  const doc = parseDocument(source);
  const add = parseDocument(block);
  for (const d of [doc, add]) {
    if (d.errors.length) throw new Error(`${d === doc ? file : `the block for ${file}`}: ${d.errors[0].message}`);
  }
  if (!isMap(doc.contents) || !isMap(add.contents)) throw new Error(`${file} and the block must both be YAML maps`);
  for (const pair of add.contents.items) doc.set(pair.key, pair.value);
  return doc.toString({ lineWidth: 0 });
}

/**
 * A TSX file that type-checks the README's legacy-frontend-system block inside a new-system app:
 * its imports, the catalog's EntityLayout/EntitySwitch and MUI's Grid that the snippet uses, and
 * the snippet's elements (its `//` comment lines dropped) in a fragment.
 */
export function legacyCheckModule(code: string): string {
  const { imports, rest } = splitImports(code);
  const elements = rest.filter(l => !/^\s*\/\//.test(l) && l.trim() !== '');
  return [
    '// Written by the adopter test (test/src/adopter): the README\'s legacy frontend system block, type-checked.',
    ...imports,
    "import { EntityLayout, EntitySwitch } from '@backstage/plugin-catalog';",
    "import { Grid } from '@material-ui/core';",
    '',
    'export const readmeLegacyElements = (',
    '  <>',
    ...elements.map(l => `    ${l}`),
    '  </>',
    ');',
    '',
  ].join('\n');
}
