#!/bin/sh
':' //; if [ -n "$NODE_EXTRA_CA_CERTS" ]; then export CHISEL_TS_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; fi; exec node "$0" "$@"
// Line 2 is shell (run through the shebang: the npm bin, ./bin/chisel-ts.js)
// and a string and a comment to Node (node bin/chisel-ts.js). Node 20 reads
// NODE_EXTRA_CA_CERTS and builds its whole root store at every start (~30 ms,
// a tenth of a warm cut); the shell hands the file to chisel-ts instead, which
// adds it to the default roots at its first HTTPS connection (http/agents.ts).
//
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
