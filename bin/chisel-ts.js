#!/usr/bin/env node
// The CLI, from the single-file bundle `npm run build` makes (dist/bundle):
// one module to load instead of hundreds saves ~50 ms on every command.
// Loaded dynamically so a failure to load it (too many open files) is one line, not a stack.
import('../dist/bundle/main.js').then(
  ({ main }) =>
    main(process.argv.slice(2)).then((code) => {
      process.exitCode = code;
    }),
  (e) => {
    const limit = e?.code === 'EMFILE' || e?.code === 'ENFILE';
    process.stderr.write(
      `error: cannot load chisel-ts${e?.path ? ` (${e.path})` : ''}: ${limit ? `too many open files (${e.code})` : e?.message}\n`,
    );
    if (limit) process.stderr.write('hint: raise the limit on open files (ulimit -n) and run again\n');
    process.exitCode = 1;
  },
);
