import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ReadmeBlock } from './readmeSection';
import { editModule, insertAfterStatement, legacyCheckModule, mergeYamlTopLevel, replaceStatement } from './sourceEdits';

/** Where the README's legacy-frontend-system block is type-checked inside the new-system app. */
export const legacyCheckFile = 'packages/app/src/ferryLegacyFrontend.check.tsx';

/**
 * Applies a README block that changes a file of the app (create, edit, insert-after, replace,
 * merge-yaml, type-check); returns the path it changed, relative to the app.
 */
export async function applyFileBlock(appDir: string, block: ReadmeBlock): Promise<string> {
  const { action } = block;
  const where = `README line ${block.line}`;
  const read = async (path: string) => {
    if (!existsSync(join(appDir, path))) throw new Error(`${where}: the app has no ${path}`);
    return readFile(join(appDir, path), 'utf8');
  };
  const write = async (path: string, text: string) => {
    await mkdir(dirname(join(appDir, path)), { recursive: true });
    await writeFile(join(appDir, path), text.endsWith('\n') ? text : `${text}\n`);
    return path;
  };
  try {
    switch (action.type) {
      case 'create':
        if (existsSync(join(appDir, action.path))) throw new Error(`${action.path} exists already`);
        return await write(action.path, block.code);
      case 'edit':
        return await write(action.path, editModule(await read(action.path), block.code, action.path));
      case 'insert-after':
        return await write(action.path, insertAfterStatement(await read(action.path), action.anchor, block.code, action.path));
      case 'replace':
        return await write(action.path, replaceStatement(await read(action.path), action.anchor, block.code, action.path));
      case 'merge-yaml':
        return await write(action.path, mergeYamlTopLevel(await read(action.path), block.code, action.path));
      case 'type-check':
        return await write(legacyCheckFile, legacyCheckModule(block.code));
      default:
        throw new Error(`"${action.type}" is not a file change`);
    }
  } catch (error) {
    throw new Error(`${where} (${block.marker}): ${(error as Error).message}`);
  }
}
