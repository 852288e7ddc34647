#!/usr/bin/env node
/*
 * Checks the tarballs scripts/pack-plugins.sh made as an app outside this repository sees them:
 * every entry point (main, module, types, exports, typesVersions, bin, configSchema) names a file
 * in the tarball and none names src/; dependencies carry no workspace-relative specs; every
 * module the runtime code (dist/, migrations/) and the declarations import is a dependency, a
 * peer dependency or a Node built-in (a devDependency there is an error: the app would not have
 * it); relative imports resolve inside the tarball; no sources or tests are shipped; Backstage
 * metadata (role, pluginId, pluginPackages, the detected feature types) and the compiled config
 * schema are present. Prints each tarball's size and file count. Exit 1 on any problem.
 *
 *   node scripts/pack/check-packs.cjs <folder with the tarballs>
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { builtinModules } = require('node:module');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: check-packs.cjs <folder with the tarballs>');
  process.exit(2);
}

/** What each package must declare beyond the common checks. */
const expectations = {
  '@ferry/plugin-backup': { role: 'frontend-plugin', pluginId: 'backup', features: { './alpha': '@backstage/FrontendPlugin' }, entries: ['.', './alpha'] },
  '@ferry/plugin-backup-backend': { role: 'backend-plugin', pluginId: 'backup', features: { '.': '@backstage/BackendFeature' }, configSchema: true, files: ['migrations/', 'crds/ferry.io_backups.yaml', 'crds/ferry.io_restores.yaml'] },
  '@ferry/plugin-backup-common': { role: 'common-library', pluginId: 'backup' },
  '@ferry/datamover': { role: 'node-library', files: ['dist/ferry-datamover.cjs', 'bin/ferry-datamover'] },
  '@ferry/repository': { role: 'node-library' },
  '@ferry/qcow2': { role: 'node-library' },
};

const builtins = new Set(builtinModules.flatMap(m => [m, `node:${m}`]));
const packageNameOf = spec => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
const isBare = spec => !spec.startsWith('.') && !spec.startsWith('/') && !builtins.has(spec) && !spec.startsWith('node:');

/** Module specifiers of a JavaScript or declaration file (static and dynamic imports, require). */
function importsOf(text) {
  const specs = new Set();
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) specs.add(match[1]);
  return [...specs];
}

function walk(folder, base = folder) {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(folder, entry.name);
    return entry.isDirectory() ? walk(full, base) : [path.relative(base, full)];
  });
}

/** Every string target of an exports map. */
function exportTargets(value) {
  if (typeof value === 'string') return [value];
  // `backstage` is the feature type the CLI records beside the conditions, not a file.
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([condition, v]) => (condition === 'backstage' ? [] : exportTargets(v)));
  }
  return [];
}

function checkPackage(tarball) {
  const problems = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-pack-check-'));
  try {
    execFileSync('tar', ['-xzf', tarball, '-C', work]);
    const root = path.join(work, 'package');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const files = walk(root);
    const has = file => fs.existsSync(path.join(root, file)) && fs.statSync(path.join(root, file)).isFile();
    const expect = expectations[pkg.name];
    if (!expect) problems.push(`unexpected package ${pkg.name}`);

    if (pkg.private) problems.push('"private" is true: npm refuses to publish it');
    if (pkg.publishConfig?.access !== 'public') problems.push('publishConfig.access is not "public" (a scoped package is private by default)');

    // Entry points name files of the tarball, never sources.
    const entryFiles = [
      ['main', pkg.main],
      ['module', pkg.module],
      ['types', pkg.types],
      ['configSchema', pkg.configSchema],
      ...Object.entries(typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : pkg.bin ?? {}).map(([k, v]) => [`bin.${k}`, v]),
      ...Object.entries(pkg.exports ?? {}).flatMap(([mount, v]) => exportTargets(v).map(t => [`exports["${mount}"]`, t])),
      ...Object.entries(pkg.typesVersions?.['*'] ?? {}).flatMap(([k, v]) => v.map(t => [`typesVersions.${k}`, t])),
    ].filter(([, value]) => value !== undefined);
    for (const [field, value] of entryFiles) {
      const relative = value.replace(/^\.\//, '');
      if (relative.startsWith('src/') || /\.tsx?$/.test(relative) && !relative.endsWith('.d.ts')) problems.push(`${field} points at a source file: ${value}`);
      if (relative.includes('..')) problems.push(`${field} leaves the package: ${value}`);
      if (!has(relative)) problems.push(`${field} names ${value}, which is not in the tarball`);
    }
    if (!pkg.main || !pkg.types) problems.push('main or types is missing');
    if (expect?.entries) {
      for (const mount of expect.entries) if (!pkg.exports?.[mount]) problems.push(`exports has no "${mount}"`);
    }

    // Dependencies resolve from a registry (or an app's resolutions), not from this repository.
    const runtimeDeps = { ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies };
    for (const [name, spec] of Object.entries(runtimeDeps)) {
      if (/^(workspace:|file:|link:|\.{1,2}\/|\/)/.test(spec)) problems.push(`dependency ${name} has a workspace-relative spec ${spec}`);
    }

    // Runtime and declaration imports: declared, built in, or relative and present.
    const devOnly = new Set(Object.keys(pkg.devDependencies ?? {}));
    // The datamover's CLI bundle is self-contained (its optional AWS SDK requires are guarded):
    // it is checked by running it below instead.
    const codeFiles = files.filter(
      f => (/^(dist|migrations)\/.*\.(c|m)?js$/.test(f) || /^dist\/.*\.d\.ts$/.test(f)) && f !== 'dist/ferry-datamover.cjs',
    );
    const undeclared = new Map();
    for (const file of codeFiles) {
      const text = fs.readFileSync(path.join(root, file), 'utf8');
      for (const spec of importsOf(text)) {
        if (spec.startsWith('.')) {
          const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
          const candidates = file.endsWith('.d.ts')
            ? [target, `${target}.d.ts`, target.replace(/\.js$/, '.d.ts'), `${target}/index.d.ts`]
            : [target, `${target}.js`, `${target}.cjs`, `${target}/index.js`];
          if (!candidates.some(has)) problems.push(`${file} imports ${spec}, which is not in the tarball`);
          continue;
        }
        if (!isBare(spec)) continue;
        const name = packageNameOf(spec);
        if (name === pkg.name || runtimeDeps[name] || runtimeDeps[`@types/${name}`]) continue;
        const key = `${name}${devOnly.has(name) ? ' (a devDependency)' : ''}`;
        undeclared.set(key, [...(undeclared.get(key) ?? []), file]);
      }
    }
    for (const [name, where] of undeclared) {
      problems.push(`imports ${name} without declaring it as a dependency or peer dependency (${where.slice(0, 3).join(', ')}${where.length > 3 ? ', …' : ''})`);
    }

    if (has('dist/ferry-datamover.cjs')) {
      try {
        execFileSync(process.execPath, [path.join(root, 'dist/ferry-datamover.cjs'), '--help'], { cwd: work, stdio: 'pipe' });
      } catch (error) {
        problems.push(`dist/ferry-datamover.cjs --help fails outside the repository: ${String(error.stderr || error.message).trim().split('\n')[0]}`);
      }
    }

    // Nothing but what an app runs.
    for (const file of files) {
      if (/(^|\/)(src|e2e|__testUtils__|__fixtures__)\//.test(file) || /\.test\.|setupTests|\.tsbuildinfo$/.test(file)) {
        problems.push(`ships ${file}`);
      }
    }
    for (const file of expect?.files ?? []) {
      if (file.endsWith('/') ? !files.some(f => f.startsWith(file)) : !has(file)) problems.push(`${file} is missing`);
    }

    // Backstage metadata as the CLI and the app's feature discovery read it.
    const backstage = pkg.backstage ?? {};
    if (expect && backstage.role !== expect.role) problems.push(`backstage.role is ${backstage.role}, expected ${expect.role}`);
    if (expect?.pluginId) {
      if (backstage.pluginId !== expect.pluginId) problems.push(`backstage.pluginId is ${backstage.pluginId}`);
      const expected = ['@ferry/plugin-backup', '@ferry/plugin-backup-backend', '@ferry/plugin-backup-common'];
      if (JSON.stringify([...(backstage.pluginPackages ?? [])].sort()) !== JSON.stringify(expected)) {
        problems.push(`backstage.pluginPackages is ${JSON.stringify(backstage.pluginPackages)}`);
      }
    }
    for (const [mount, type] of Object.entries(expect?.features ?? {})) {
      if (backstage.features?.[mount] !== type) problems.push(`backstage.features["${mount}"] is ${backstage.features?.[mount]}, expected ${type}`);
    }

    // The config schema compiled from config.d.ts.
    if (expect?.configSchema) {
      if (pkg.configSchema !== 'config.schema.json') problems.push(`configSchema is ${pkg.configSchema}, expected config.schema.json`);
      else {
        const schema = JSON.parse(fs.readFileSync(path.join(root, 'config.schema.json'), 'utf8'));
        const ferry = schema.properties?.ferry;
        if (!ferry) problems.push('config.schema.json has no properties.ferry');
        const secret = JSON.stringify(schema).includes('"visibility":"secret"');
        if (!secret) problems.push('config.schema.json lost the @visibility secret of the S3 credentials');
      }
    }

    const size = fs.statSync(tarball).size;
    const unpacked = files.reduce((sum, f) => sum + fs.statSync(path.join(root, f)).size, 0);
    return { name: pkg.name, version: pkg.version, size, unpacked, files: files.length, problems };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The chart tarball: Chart.yaml, values, templates and the CRDs as the backend plugin ships them. */
function checkChart(tarball) {
  const problems = [];
  const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const file of ['ferry/Chart.yaml', 'ferry/values.yaml', 'ferry/crds/ferry.io_backups.yaml', 'ferry/crds/ferry.io_restores.yaml']) {
    if (!listing.includes(file)) problems.push(`${file} is missing`);
  }
  return { name: 'chart ferry', version: path.basename(tarball).replace(/^ferry-|\.tgz$/g, ''), size: fs.statSync(tarball).size, unpacked: undefined, files: listing.length, problems };
}

const kib = bytes => `${(bytes / 1024).toFixed(1)} KiB`;
const tarballs = fs.readdirSync(dir).filter(f => f.endsWith('.tgz')).sort();
const results = tarballs.map(file => {
  const full = path.join(dir, file);
  const isChart = execFileSync('tar', ['-tzf', full], { encoding: 'utf8' }).split('\n').includes('ferry/Chart.yaml');
  return { file, ...(isChart ? checkChart(full) : checkPackage(full)) };
});
const missing = Object.keys(expectations).filter(name => !results.some(r => r.name === name));
let failed = missing.length > 0;
for (const name of missing) console.log(`✗ ${name}: no tarball`);
for (const r of results) {
  const figures = `${kib(r.size)}${r.unpacked === undefined ? '' : `, ${kib(r.unpacked)} unpacked`}, ${r.files} files`;
  console.log(`${r.problems.length ? '✗' : '✓'} ${r.file}  ${r.name}@${r.version}  ${figures}`);
  for (const problem of r.problems) console.log(`    - ${problem}`);
  if (r.problems.length) failed = true;
}
process.exit(failed ? 1 : 0);
