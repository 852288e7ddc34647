module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  overrides: [
    {
      // npm run bench:e2e fills its big volume with bench:qcow2's workload, imported from
      // @ferry/qcow2's bench folder (a devDependency here). That package publishes only dist
      // ("files"), so the rule forbids any subpath; the bench is test code (jest runs it through
      // bench-e2e.sh), unreachable from src/index.ts, never part of the published plugin.
      // Likewise the e2e tests use @ferry/repository's test helpers (its src/testing, e.g.
      // BucketAccess, which the published package does not ship).
      files: ['src/e2e/bench/*.bench.ts', 'src/e2e/**/*.test.ts'],
      rules: {
        '@backstage/no-forbidden-package-imports': 'off',
      },
    },
  ],
});
