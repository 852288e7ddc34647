// Kills the process groups it is told about once its parent (a Node process using
// src/managedProcess.ts) goes away, even when that parent is killed with SIGKILL: the parent
// holds our stdin; end-of-file means it is gone. Lines: "add <pgid>" / "remove <pgid>",
// "run <JSON argv>" for a clean-up command to run after the kill (once, each at most 60 s), and
// "rmdir <folder>" / "keepdir <folder>" for temporary folders to delete after that.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

const groups = new Set();
const folders = new Set();
const commands = new Set();
let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', chunk => {
  buffer += chunk;
  for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
    const line = buffer.slice(0, newline).trim();
    buffer = buffer.slice(newline + 1);
    const [verb, value] = line.split(/\s+/);
    const folder = line.slice(verb.length + 1);
    if (verb === 'rmdir' && folder.startsWith('/')) folders.add(folder);
    if (verb === 'keepdir') folders.delete(folder);
    if (verb === 'run') commands.add(line.slice(verb.length + 1));
    const pgid = Number(value);
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    if (verb === 'add') groups.add(pgid);
    if (verb === 'remove') groups.delete(pgid);
  }
});
const killAll = () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const command of commands) {
    try {
      const argv = JSON.parse(command);
      spawnSync(argv[0], argv.slice(1), { stdio: 'ignore', timeout: 60_000 });
    } catch {
      // best effort
    }
  }
  for (const folder of folders) {
    try {
      fs.rmSync(folder, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  process.exit(0);
};
process.stdin.on('end', killAll);
process.stdin.on('error', killAll);
process.on('SIGTERM', () => undefined);
