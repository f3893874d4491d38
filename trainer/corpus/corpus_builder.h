// The corpus build, end to end: sources (Debian packages) -> documents -> deterministic
// train/validation split by document -> SentencePiece vocabulary trained on the training split
// -> token shards + tokenizer.model + manifest.json in one directory (token_shards.h,
// docs/data.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "trainer/corpus/document.h"

namespace sherry::corpus {

inline constexpr double kDefaultValFraction = 0.05;
inline constexpr std::string_view kDefaultCacheDir = ".cache/corpus";

struct SourceInfo {
  std::string name;     // "austen", "web", "kjv"
  std::string package;  // Debian package
  std::string version;  // package version ("" before fetching)
};

// The sources sherry-data knows, in build order.
const std::vector<SourceInfo>& known_sources();

struct SplitSummary {
  std::vector<std::string> documents;  // names, in shard order
  uint64_t characters = 0;
  uint64_t tokens = 0;
};

struct CorpusSummary {
  std::vector<SourceInfo> sources;
  int vocab_size = 0;
  double val_fraction = 0;
  SplitSummary train, val;
  bool up_to_date = false;  // build found matching outputs and wrote nothing
};

using ProgressFn = std::function<void(std::string_view line)>;

struct BuildOptions {
  std::string out_dir;
  std::string cache_dir = std::string(kDefaultCacheDir);
  std::vector<std::string> sources = {"austen", "web"};
  int vocab_size = 4096;
  double val_fraction = kDefaultValFraction;
  bool fetch = true;   // run apt-get download for packages missing from the cache
  bool force = false;  // rebuild even when the outputs match the options
  int threads = 0;     // tokenization threads (0: all cores)
  ProgressFn progress;
};

// Splits by document: documents in the order of the FNV-1a hash of their names go to validation
// while they keep its characters within val_fraction of the total (at least one document goes
// there; at least one stays in training). Returns, per document, true for validation.
Result<std::vector<bool>> split_documents(const std::vector<Document>& documents,
                                          double val_fraction);

// Trains the tokenizer on the training documents, tokenizes both splits and writes the corpus
// directory. `sources` and `val_fraction` go into the manifest.
Result<CorpusSummary> write_corpus(const std::vector<Document>& documents,
                                   const std::vector<SourceInfo>& sources,
                                   const BuildOptions& options);

// Fetches/extracts the packages, reads the documents, then write_corpus. Skips the work when
// out_dir already holds a valid corpus built from the same options and package versions.
Result<CorpusSummary> build_corpus(const BuildOptions& options);

// Validates a corpus directory (manifest, tokenizer, both shards against each other) and
// returns its figures.
Result<CorpusSummary> read_corpus_summary(const std::string& dir);

}  // namespace sherry::corpus
