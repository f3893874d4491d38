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

// The sources sherry-data knows, in build order (docs/data.md lists them with sizes and
// licences): austen, web, kjv, mhcc, scofield, tdavid, jargon.
const std::vector<SourceInfo>& known_sources();
// Their names joined by ", " (for messages).
std::string known_source_names();

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
  std::vector<std::string> sources = {"austen",   "web",    "kjv",   "mhcc",
                                      "scofield", "tdavid", "jargon"};
  int vocab_size = 4096;
  // An existing SentencePiece model to tokenize with instead of training one ("": train). Lets a
  // model trained on another corpus be scored on this corpus's validation text.
  std::string tokenizer_path;
  double val_fraction = kDefaultValFraction;
  bool fetch = true;   // run apt-get download for packages missing from the cache
  bool force = false;  // rebuild even when the outputs match the options
  int threads = 0;     // tokenization threads (0: all cores)
  ProgressFn progress;
};

// Splits by document, deterministically. Documents about one Bible book (Document::book), from
// every Bible or commentary source, form one unit that goes to one side whole; every other
// document is a unit of its own. Bible-derived units and the others (prose) are two pools, each
// giving val_fraction of its characters to validation: units in the order of a hash (FNV-1a 64
// mixed by SplitMix64's finalizer) of
// their keys ("bible/Gen", "austen/emma/ch05") go there while they fit, and a pool of two or more
// units where none fits gives its smallest. Returns, per document, true for validation.
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
