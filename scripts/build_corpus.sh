#!/usr/bin/env bash
# Builds the offline training corpus into data/corpus (git-ignored): builds sherry-data if needed,
# fetches the Debian packages into .cache/corpus (apt-get download + dpkg -x, once), then runs
# `sherry-data build`, which does nothing when data/corpus already matches the options and the
# package versions. docs/data.md describes the result.
#
#   scripts/build_corpus.sh [sherry-data build flags...]    e.g. --vocab-size 8192 --force
#
# Environment: SHERRY_BUILD_DIR (default build/), SHERRY_CORPUS_DIR (default data/corpus).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${SHERRY_BUILD_DIR:-$root/build}
out_dir=${SHERRY_CORPUS_DIR:-$root/data/corpus}
"$root/scripts/setup.sh" --build-dir "$build_dir" --target sherry-data >&2
exec "$build_dir/bin/sherry-data" build --out "$out_dir" --cache "$root/.cache/corpus" "$@"
