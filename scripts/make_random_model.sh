#!/usr/bin/env bash
# Writes a random-weight Llama GGUF with sherry-make-model (building it first when build/ lacks it).
#
#   scripts/make_random_model.sh OUT.gguf [--hidden N] [--layers N] [--heads N] [--kv-heads N]
#                                [--ffn N] [--vocab N] [--ctx N] [--type f32|f16|bf16] [--seed N]
#                                [--rope-base F]
#   e.g. scripts/make_random_model.sh models/random-1b.gguf --hidden 2048 --layers 16 --heads 32 \
#          --kv-heads 8 --ffn 8192 --vocab 32000 --type f16
#
# docs/gguf.md describes the file (keys, tensors, byte-level vocabulary). BUILD_DIR overrides build/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
tool="$build_dir/bin/sherry-make-model"
if [ $# -eq 0 ]; then
  echo "usage: scripts/make_random_model.sh OUT.gguf [sherry-make-model options] (--help for them)" >&2
  exit 2
fi
if [ ! -x "$tool" ]; then
  echo "make_random_model: building sherry-make-model in $build_dir" >&2
  "$root/scripts/setup.sh" --build-dir "$build_dir" --target sherry-make-model >&2
fi
exec "$tool" "$@"
