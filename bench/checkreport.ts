// slices/<release>/CHECK.md from the JSON of `chisel-ts check --json` (run by
// bench/check-release.sh): the date, the commit, the totals, then one row per
// slice. readKnownFailures reads the rows back (the CI check tolerates the
// failures recorded there, problem for problem).

import { readFileSync } from 'node:fs';
import path from 'node:path';

interface Result {
  name: string;
  result: 'pass' | 'fail';
  size: number;
  problems: string[];
  smoke: Array<{ result: string }>;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function sizeText(bytes: number): string {
  return bytes < 1 << 20 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

export function checkMarkdown(
  doc: { arch: string; passed: number; failed: number; results: Result[] },
  meta: { release: string; date: string; commit: string; seconds: number },
): string {
  const lines = [
    `# chisel-ts check: ${meta.release}`,
    '',
    `Written by \`bench/check-release.sh\` (every slice cut with its essentials and checked: ELF libraries and interpreters, symlinks, smoke tests).`,
    '',
    `* date: ${meta.date}`,
    `* commit: ${meta.commit}`,
    `* architecture: ${doc.arch}`,
    `* slices: ${doc.results.length}, passed ${doc.passed}, failed ${doc.failed}`,
    `* smoke tests: ${doc.results.reduce((n, r) => n + r.smoke.filter((s) => s.result === 'pass').length, 0)} passed, ${doc.results.reduce((n, r) => n + r.smoke.filter((s) => s.result === 'fail').length, 0)} failed, ${doc.results.reduce((n, r) => n + r.smoke.filter((s) => s.result === 'skipped').length, 0)} skipped`,
    `* time: ${meta.seconds} s`,
    '',
    '| slice | result | size | smoke tests | problems |',
    '| --- | --- | ---: | --- | --- |',
  ];
  for (const r of doc.results) {
    const smoke = r.smoke.length ? r.smoke.map((s) => s.result).join(', ') : '-';
    lines.push(
      `| ${r.name} | ${r.result} | ${sizeText(r.size)} | ${smoke} | ${r.problems.length ? r.problems.map(cell).join('<br>') : '-'} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** slice -> problems, for each failing row of a CHECK.md. */
export function readKnownFailures(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('| ')) continue;
    const cells = line
      .slice(2, -2)
      .split(/(?<!\\) \| /)
      .map((c) => c.replace(/\\\|/g, '|'));
    if (cells[1] !== 'fail') continue;
    out.set(cells[0]!, cells[4]!.split('<br>'));
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  const [json, release, seconds, commit] = process.argv.slice(2);
  const doc = JSON.parse(readFileSync(json!, 'utf8'));
  process.stdout.write(
    checkMarkdown(doc, {
      release: release!,
      date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      commit: commit!,
      seconds: Number(seconds),
    }),
  );
}
