module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  overrides: [
    {
      // Tests, benchmarks and the test helpers in src/testing share the test helpers of
      // @ferry/qcow2 and @ferry/repository (their src/testing, qcow2's bench workload) across
      // workspaces. Those packages publish only dist ("files"), so the rule forbids any subpath;
      // none of these files is reachable from this package's entry points (src/index.ts, the
      // CLI bundle of src/cli/run.ts), so none of it is ever part of the published package.
      files: ['**/*.test.*', 'bench/**', 'src/testing/**'],
      rules: {
        '@backstage/no-forbidden-package-imports': 'off',
      },
    },
  ],
});
