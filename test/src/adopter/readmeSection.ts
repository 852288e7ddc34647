/**
 * The README's section "Install into your Backstage" as the adopter test reads it: every fenced
 * code block in it, with the HTML comment on the line before it that says what the test does
 * with the block (`<!-- adopter-test: <action> -->`). A block without such a comment, or with an
 * action the test does not know, is an error: the test follows the whole text or fails.
 */

export type BlockAction =
  /** `npm run pack:plugins` in the Ferry checkout (the test runs it or reuses its output). */
  | { type: 'pack' }
  /** A shell block run with bash in the app's root, its exported variables kept for later blocks. */
  | { type: 'run' }
  /** A shell block whose lines are checks: `# answer` after a command is compared with its output. */
  | { type: 'check' }
  /** Not run by the test, for the reason given. */
  | { type: 'skip'; reason: string }
  /** A new file with the block's text. */
  | { type: 'create'; path: string }
  /** A TypeScript file edited: the block's imports added, the statement it starts with replaced. */
  | { type: 'edit'; path: string }
  /** A new statement after the top-level statement that mentions `anchor`. */
  | { type: 'insert-after'; path: string; anchor: string }
  /** The top-level statement that mentions `anchor` replaced by the block. */
  | { type: 'replace'; path: string; anchor: string }
  /** A YAML file whose top-level keys are set to the block's (replaced or added). */
  | { type: 'merge-yaml'; path: string }
  /** Legacy frontend system code, type-checked in the app (create-app makes a new-system app). */
  | { type: 'type-check' };

export type ReadmeBlock = {
  /** 1-based line of the opening fence in the README. */
  line: number;
  /** The fence's language (`sh`, `ts`, `tsx`, `yaml`). */
  lang: string;
  code: string;
  marker: string;
  action: BlockAction;
};

export const sectionTitle = 'Install into your Backstage';

/** Each action's comment text and how its parts make the action. */
const actionPatterns: Array<[RegExp, (m: RegExpMatchArray) => BlockAction]> = [
  [/^pack$/, () => ({ type: 'pack' })],
  [/^run$/, () => ({ type: 'run' })],
  [/^check$/, () => ({ type: 'check' })],
  [/^skip \((.+)\)$/, m => ({ type: 'skip', reason: m[1] })],
  [/^create (\S+)$/, m => ({ type: 'create', path: m[1] })],
  [/^edit (\S+)( \(.*\))?$/, m => ({ type: 'edit', path: m[1] })],
  [/^insert after the statement with (\S+) in (\S+)$/, m => ({ type: 'insert-after', anchor: m[1], path: m[2] })],
  [/^replace the statement with (\S+) in (\S+)$/, m => ({ type: 'replace', anchor: m[1], path: m[2] })],
  [/^merge into (\S+)$/, m => ({ type: 'merge-yaml', path: m[1] })],
  [/^type-check( \(.*\))?$/, () => ({ type: 'type-check' })],
];

/** Parses the text of an `adopter-test:` comment; throws naming the line when it is not known. */
export function parseAction(marker: string, line: number): BlockAction {
  const text = marker.trim();
  for (const [pattern, make] of actionPatterns) {
    const m = text.match(pattern);
    if (m) return make(m);
  }
  throw new Error(`README line ${line}: unknown adopter-test action "${text}"`);
}

/**
 * The fenced blocks of the section `## <title>` (up to the next `## ` heading), each with its
 * marker. Throws when the section is missing, a block has no marker, or a marker has no block.
 */
export function readSection(readme: string, title = sectionTitle): ReadmeBlock[] {
  const lines = readme.split('\n');
  const start = lines.findIndex(l => l.trim() === `## ${title}`);
  if (start < 0) throw new Error(`README has no section "## ${title}"`);
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;

  const blocks: ReadmeBlock[] = [];
  let pendingMarker: { text: string; line: number } | undefined;
  for (let i = start + 1; i < end; i++) {
    const line = lines[i];
    const marker = line.match(/^<!--\s*adopter-test:\s*(.*?)\s*-->\s*$/);
    if (marker) {
      if (pendingMarker) throw new Error(`README line ${pendingMarker.line}: adopter-test comment without a code block after it`);
      pendingMarker = { text: marker[1], line: i + 1 };
      continue;
    }
    const fence = line.match(/^```(\w*)\s*$/);
    if (fence) {
      const close = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
      if (close < 0 || close >= end) throw new Error(`README line ${i + 1}: code block not closed within the section`);
      if (!pendingMarker || pendingMarker.line !== i) {
        throw new Error(`README line ${i + 1}: code block without an adopter-test comment on the line before it`);
      }
      blocks.push({
        line: i + 1,
        lang: fence[1],
        code: `${lines.slice(i + 1, close).join('\n')}\n`,
        marker: pendingMarker.text,
        action: parseAction(pendingMarker.text, pendingMarker.line),
      });
      pendingMarker = undefined;
      i = close;
      continue;
    }
    if (pendingMarker && line.trim() !== '') {
      throw new Error(`README line ${pendingMarker.line}: adopter-test comment not directly before a code block`);
    }
  }
  if (pendingMarker) throw new Error(`README line ${pendingMarker.line}: adopter-test comment without a code block after it`);
  return blocks;
}
