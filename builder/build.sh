#!/bin/sh
# Build the builder image (image.yaml) with chisel-ts itself:
#   builder/build.sh            -> builder/out/builder.oci.tar
#   builder/build.sh --oci-archive X.tar   (arguments go to chisel-ts build)
# CHISEL_TS_PACKAGE=FILE.tgz uses an already packed package instead of `npm pack`
# (whose prepack step builds the checkout); CHISEL_TS_STAGE=DIR stages the
# image's files (the build context) there instead of builder/stage.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
stage=${CHISEL_TS_STAGE:-$here/stage}
rm -rf "$stage"
mkdir -p "$stage/apt"
if [ -n "${CHISEL_TS_PACKAGE:-}" ]; then
  tgz=$CHISEL_TS_PACKAGE
else
  tgz="$stage/$(cd "$root" && npm pack --silent --pack-destination "$stage" | tail -n 1)"
fi
# the package as a user installs it: the bundle and its run-time dependencies only
npm install -g --prefix "$stage/npm" --no-audit --no-fund --prefer-offline "$tgz" >/dev/null
cp "$here/chisel-ts" "$stage/chisel-ts"
for f in /etc/apt/sources.list /etc/apt/sources.list.d; do
  if [ -e "$f" ]; then cp -r "$f" "$stage/apt/"; fi
done
node "$root/bin/chisel-ts.js" build --context "$stage" "$here/image.yaml" "$@"
