#!/bin/sh
# The full check of a shipped release: every slice cut with its essentials and
# checked (chisel-ts check), results written to slices/<release>/CHECK.md.
# Usage: bench/check-release.sh [release] [check flags...]   (default debian-13)
# Downloads every package of the release once (kept in the chisel-ts cache).
set -eu
cd "$(dirname "$0")/.."
release=${1:-debian-13}
[ $# -gt 0 ] && shift
npm run --silent build
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s)
status=0
CI=true node bin/chisel-ts.js check --release "slices/$release" --json "$@" >"$out" || status=$?
# 1 is a failed slice (recorded); anything else is an error of the run
[ "$status" -le 1 ] || exit "$status"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# a run on uncommitted slice files says so: the commit alone would name other definitions
[ -z "$(git status --porcelain -- "slices/$release" 2>/dev/null | grep -v CHECK.md)" ] || commit="$commit + uncommitted changes"
node dist/bench/checkreport.js "$out" "$release" "$(($(date +%s) - start))" "$commit" >"slices/$release/CHECK.md"
grep -E '^\* (slices|smoke|time):' "slices/$release/CHECK.md"
exit "$status"
