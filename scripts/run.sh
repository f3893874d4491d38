#!/usr/bin/env bash
# The main job: build sherry-run (installing what is missing), then generate text with JIT kernels
# from the default model, models/default.gguf (scripts/build_default_model.sh trains it from the
# offline corpus when it is missing, once).
#
#   scripts/run.sh [sherry-run flags...]     e.g. scripts/run.sh -p "It is a truth" -n 64
#                                                 scripts/run.sh -cnv -sys "Be brief."
#
# Without flags it generates 96 tokens from a default prompt. With -m (or --model) it runs that
# model instead of the default one. Only sherry-run's text goes to stdout: the build's and the
# training's output goes to stderr, so `scripts/run.sh ... > out.txt` holds the generated text.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh" --build-dir "$root/build" --target sherry-run >&2
model_given=0
for arg in "$@"; do
  case "$arg" in -m | --model | --model=*) model_given=1 ;; esac
done
model_flags=()
if [ "$model_given" = 0 ]; then
  model="$root/models/default.gguf"
  if [ ! -f "$model" ]; then
    echo "run: no default model at $model yet: training it once (corpus, FP training, QAT; about 1 h 20 min on 2 cores, resumable); progress below" >&2
    "$root/scripts/build_default_model.sh" >&2
  fi
  model_flags=(-m "$model")
fi
if [ $# -eq 0 ]; then
  set -- -p "It is a truth universally acknowledged, that" -n 96 --temp 0.7 --top-p 0.9 --seed 1
fi
exec "$root/build/bin/sherry-run" "${model_flags[@]}" "$@"
