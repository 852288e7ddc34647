import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../support/repoRoot';

const run = promisify(execFile);

/**
 * scripts/pack/check-packs.cjs, which `npm run pack:plugins` runs on every tarball: it must refuse
 * what would break an app outside this repository, and pass a package that is right.
 */
let dir: string;

/** Writes a package folder and packs it as npm does (a gzipped tar with a `package/` root). */
function tarball(name: string, files: Record<string, string>) {
  const root = fs.mkdtempSync(path.join(dir, 'src-'));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, 'package', file)), { recursive: true });
    fs.writeFileSync(path.join(root, 'package', file), text);
  }
  return run('tar', ['-czf', path.join(dir, 'packs', `${name}.tgz`), '-C', root, 'package']);
}

async function check(): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [path.join(repoRoot, 'scripts/pack/check-packs.cjs'), path.join(dir, 'packs')]);
    return { code: 0, output: stdout };
  } catch (error) {
    return { code: (error as { code: number }).code, output: (error as { stdout: string }).stdout };
  }
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-check-packs-'));
  fs.mkdirSync(path.join(dir, 'packs'));
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('check-packs', () => {
  it('names every way a tarball would break an app outside the repository', async () => {
    await tarball('ferry-plugin-backup-common-0.1.0', {
      'package.json': JSON.stringify({
        name: '@ferry/plugin-backup-common',
        version: '0.1.0',
        private: true,
        main: 'src/index.ts',
        types: 'dist/index.d.ts',
        backstage: { role: 'common-library' },
        dependencies: { '@ferry/qcow2': 'workspace:*' },
        devDependencies: { lodash: '^4.17.21' },
      }),
      'src/index.ts': 'export {};',
      'dist/index.cjs.js': "require('lodash'); require('./missing'); require('node:fs'); require('@ferry/qcow2');",
      'dist/index.d.ts': "import type { Z } from 'zod';\nexport type Y = Z;",
      'dist/index.test.js': '',
    });
    const { code, output } = await check();
    expect(code).toBe(1);
    const problems = output.split('\n').filter(line => line.startsWith('    - ')).map(line => line.slice(6));
    expect(problems).toEqual(
      expect.arrayContaining([
        '"private" is true: npm refuses to publish it',
        'publishConfig.access is not "public" (a scoped package is private by default)',
        'main points at a source file: src/index.ts',
        'dependency @ferry/qcow2 has a workspace-relative spec workspace:*',
        'dist/index.cjs.js imports ./missing, which is not in the tarball',
        'imports lodash (a devDependency) without declaring it as a dependency or peer dependency (dist/index.cjs.js)',
        'imports zod without declaring it as a dependency or peer dependency (dist/index.d.ts)',
        'ships src/index.ts',
        'ships dist/index.test.js',
        'backstage.pluginId is undefined',
      ]),
    );
    // The five other packages have no tarball at all.
    expect(output).toContain('✗ @ferry/plugin-backup-backend: no tarball');
  });

  it('passes a package whose entry points, imports and metadata are right', async () => {
    await tarball('ferry-qcow2-0.1.0', {
      'package.json': JSON.stringify({
        name: '@ferry/qcow2',
        version: '0.1.0',
        private: false,
        publishConfig: { access: 'public' },
        main: 'dist/index.cjs.js',
        types: 'dist/index.d.ts',
        backstage: { role: 'node-library' },
        files: ['dist'],
      }),
      'dist/index.cjs.js': "require('node:fs'); require('./codec.cjs.js');",
      'dist/codec.cjs.js': "require('zlib');",
      'dist/index.d.ts': 'export declare const x: number;',
    });
    const { output } = await check();
    expect(output).toMatch(/^✓ ferry-qcow2-0\.1\.0\.tgz {2}@ferry\/qcow2@0\.1\.0 {2}[\d.]+ KiB, [\d.]+ KiB unpacked, 4 files$/m);
  });
});
