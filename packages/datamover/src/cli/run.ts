import { main } from './main';

// Entry point of the bundle (bin/ferry-datamover). Exit codes: see ../errors.ts.
main(process.argv.slice(2), process.env).then(
  code => {
    process.exitCode = code;
  },
  e => {
    process.stderr.write(`Unexpected failure: ${(e as Error)?.stack ?? e}\n`);
    process.exitCode = 1;
  },
);
