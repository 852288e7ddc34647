import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/repoRoot';
import { readSection } from './readmeSection';

describe('the README section the adopter test follows', () => {
  it('marks every code block of "Install into your Backstage" with what the test does with it', () => {
    const blocks = readSection(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
    expect(blocks.map(b => b.action.type)).toEqual([
      'pack',
      'run',
      'edit',
      'type-check',
      'insert-after',
      'create',
      'replace',
      'skip',
      'run',
      'run',
      'merge-yaml',
      'check',
    ]);
    expect(blocks.every(b => b.code.trim() !== '')).toBe(true);
  });

  it('refuses a block without a marker, a marker without a block and an unknown action', () => {
    const section = (body: string) => `# X\n\n## Install into your Backstage\n\n${body}\n## Next\n`;
    expect(() => readSection(section('```sh\nls\n```\n'))).toThrow('README line 5: code block without an adopter-test comment');
    expect(() => readSection(section('<!-- adopter-test: run -->\n\ntext\n'))).toThrow(
      'README line 5: adopter-test comment not directly before a code block',
    );
    expect(() => readSection(section('<!-- adopter-test: dance -->\n```sh\nls\n```\n'))).toThrow(
      'README line 5: unknown adopter-test action "dance"',
    );
    expect(() => readSection('# X\n')).toThrow('README has no section "## Install into your Backstage"');
  });

  it('reads actions with their paths and anchors, and the code as written', () => {
    const blocks = readSection(
      [
        '## Install into your Backstage',
        '<!-- adopter-test: replace the statement with allow-all-policy in packages/backend/src/index.ts -->',
        '```ts',
        "backend.add(import('./ferryPermissionPolicy'));",
        '```',
        '<!-- adopter-test: skip (no Docker here) -->',
        '```sh',
        'docker build .',
        '```',
      ].join('\n'),
    );
    expect(blocks).toEqual([
      {
        line: 3,
        lang: 'ts',
        code: "backend.add(import('./ferryPermissionPolicy'));\n",
        marker: 'replace the statement with allow-all-policy in packages/backend/src/index.ts',
        action: { type: 'replace', anchor: 'allow-all-policy', path: 'packages/backend/src/index.ts' },
      },
      { line: 7, lang: 'sh', code: 'docker build .\n', marker: 'skip (no Docker here)', action: { type: 'skip', reason: 'no Docker here' } },
    ]);
  });
});
