import {
  editModule,
  insertAfterStatement,
  legacyCheckModule,
  mergeYamlTopLevel,
  replaceStatement,
  splitImports,
} from './sourceEdits';

/** packages/backend/src/index.ts as create-app 0.9.2 writes it (shortened). */
const backendIndex = `import { createBackend } from '@backstage/backend-defaults';

const backend = createBackend();

// permission plugin
backend.add(import('@backstage/plugin-permission-backend'));
// See https://backstage.io/docs/permissions/getting-started for how to create your own permission policy
backend.add(
  import('@backstage/plugin-permission-backend-module-allow-all-policy'),
);

// kubernetes plugin
backend.add(import('@backstage/plugin-kubernetes-backend'));

backend.start();
`;

describe('insertAfterStatement / replaceStatement', () => {
  it('inserts after a one-line statement', () => {
    const out = insertAfterStatement(backendIndex, 'plugin-kubernetes-backend', "backend.add(import('@ferry/plugin-backup-backend'));\n");
    expect(out).toContain(
      "backend.add(import('@backstage/plugin-kubernetes-backend'));\nbackend.add(import('@ferry/plugin-backup-backend'));\n\nbackend.start();",
    );
  });

  it('replaces a statement written over three lines, keeping the comment above it', () => {
    const out = replaceStatement(backendIndex, 'plugin-permission-backend-module-allow-all-policy', "backend.add(import('./ferryPermissionPolicy'));\n");
    expect(out).toContain(
      "own permission policy\nbackend.add(import('./ferryPermissionPolicy'));\n\n// kubernetes plugin",
    );
    expect(out).not.toContain('allow-all-policy');
  });

  it('names the anchor when the file does not have exactly one such statement', () => {
    expect(() => replaceStatement(backendIndex, 'plugin-nothing', 'x;', 'index.ts')).toThrow(
      'index.ts: expected one statement with "plugin-nothing", found 0',
    );
    expect(() => insertAfterStatement(backendIndex, 'backend.add', 'x;', 'index.ts')).toThrow('found 3');
  });
});

describe('editModule', () => {
  const app = `import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import { navModule } from './modules/nav';

export default createApp({
  features: [catalogPlugin, navModule],
});
`;

  it('adds the imports after the last one and replaces the statement the block starts with', () => {
    const block = `import backupPlugin from '@ferry/plugin-backup/alpha';

export default createApp({
  features: [catalogPlugin, navModule, backupPlugin],
});
`;
    expect(editModule(app, block)).toBe(`import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import { navModule } from './modules/nav';
import backupPlugin from '@ferry/plugin-backup/alpha';

export default createApp({
  features: [catalogPlugin, navModule, backupPlugin],
});
`);
  });

  it('fails when the file has no such statement', () => {
    expect(() => editModule(app, 'export default createLegacyApp({\n});\n', 'App.tsx')).toThrow(
      'App.tsx: no line "export default createLegacyApp({" to replace',
    );
  });
});

describe('mergeYamlTopLevel', () => {
  it("replaces create-app's empty kubernetes entry, adds ferry, keeps the rest and its comments", () => {
    const config = `app:
  title: Scaffolded Backstage App # the title

kubernetes:
  # see https://backstage.io/docs/features/kubernetes/configuration

permission:
  enabled: true
`;
    const out = mergeYamlTopLevel(
      config,
      `kubernetes:
  serviceLocatorMethod:
    type: multiTenant
ferry:
  controller:
    namespace: ferry-system
`,
    );
    expect(out).toContain('title: Scaffolded Backstage App # the title');
    expect(out).toMatch(/kubernetes:\n {2}serviceLocatorMethod:\n {4}type: multiTenant\n/);
    expect(out).toMatch(/permission:\n {2}enabled: true\n/);
    expect(out).toMatch(/ferry:\n {2}controller:\n {4}namespace: ferry-system\n$/);
  });
});

describe('legacyCheckModule', () => {
  it("wraps the snippet's elements in a fragment under its imports", () => {
    const out = legacyCheckModule(`import { A } from '@ferry/plugin-backup';

// inside the page:
<EntityLayout.Route path="/a" title="A">
  <A />
</EntityLayout.Route>
`);
    expect(splitImports(out.split('\n').slice(1).join('\n')).imports).toEqual([
      "import { A } from '@ferry/plugin-backup';",
      "import { EntityLayout, EntitySwitch } from '@backstage/plugin-catalog';",
      "import { Grid } from '@material-ui/core';",
    ]);
    expect(out).toContain('  <>\n    <EntityLayout.Route path="/a" title="A">\n      <A />\n    </EntityLayout.Route>\n  </>');
    expect(out).not.toContain('inside the page');
  });
});
