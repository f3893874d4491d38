#!/usr/bin/env bash
# The main job: build sherry (installing what is missing), get the default model (trained once from
# the bundled offline corpus and cached in models/default.gguf), then generate text with JIT kernels.
#
#   scripts/run.sh [sherry-run flags...]     e.g. scripts/run.sh -p "It is a truth" -n 64
#
# Without flags it generates 96 tokens from a default prompt.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh" --build-dir "$root/build"
model="$root/models/default.gguf"
if [ ! -f "$model" ]; then
  echo "run: no default model at $model yet: building it once (corpus, FP training, QAT); progress below" >&2
  "$root/scripts/build_default_model.sh"
fi
if [ $# -eq 0 ]; then
  set -- -p "It is a truth universally acknowledged, that" -n 96 --temp 0.7 --top-p 0.9 --seed 1
fi
exec "$root/build/bin/sherry-run" -m "$model" "$@"
