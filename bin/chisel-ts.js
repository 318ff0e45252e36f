#!/usr/bin/env node
// The CLI, from the single-file bundle `npm run build` makes (dist/bundle):
// one module to load instead of hundreds saves ~50 ms on every command.
import { main } from '../dist/bundle/main.js';
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
