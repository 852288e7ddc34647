import { main } from './main';

// Entry point of the bundle (bin/ferry-datamover). Exit codes: see ../errors.ts.
// SIGTERM/SIGINT (Job deleted, pod evicted) stop a backup between chunks and abort its upload,
// so no multipart upload or temp file is left behind; a second signal exits at once.
const stop = new AbortController();
const onSignal = (sig: NodeJS.Signals) => {
  if (stop.signal.aborted) process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  process.stderr.write(`Received ${sig}: stopping\n`);
  stop.abort();
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

main(process.argv.slice(2), process.env, undefined, stop.signal).then(
  code => {
    process.exitCode = code;
  },
  e => {
    process.stderr.write(`Unexpected failure: ${(e as Error)?.stack ?? e}\n`);
    process.exitCode = 1;
  },
);
