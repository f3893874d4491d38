// Tokenized corpus shards: the contract between sherry-data (writer) and the trainer (reader).
// A corpus directory holds tokenizer.model (SentencePiece), train.tok, val.tok and manifest.json.
// The shard file format is documented in docs/data.md:
//
//   offset  size  field
//        0     8  magic "SHRYTOKS"
//        8     4  version (1)
//       12     4  token width in bytes: 2 (uint16, vocab_size <= 65536) or 4 (uint32)
//       16     4  vocab_size (every token id is < vocab_size)
//       20     4  reserved, 0
//       24     8  document_count
//       32     8  token_count
//       40     8  checksum: FNV-1a 64 over every byte after the 64-byte header
//       48    16  reserved, 0
//       64        document_offsets: (document_count + 1) uint64, 0 first, token_count last,
//                 non-decreasing; document d is tokens [offsets[d], offsets[d + 1])
//        …        tokens: token_count ids of the given width
//
// All integers little-endian; the file size must be exactly what the header implies.
// Each document starts with the tokenizer's BOS id (1); documents are whole books.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace sherry::corpus {

inline constexpr std::string_view kShardMagic = "SHRYTOKS";
inline constexpr uint32_t kShardVersion = 1;
inline constexpr size_t kShardHeaderBytes = 64;

// File names inside a corpus directory (default directory: data/corpus at the repository root).
inline constexpr std::string_view kTokenizerFileName = "tokenizer.model";
inline constexpr std::string_view kTrainShardFileName = "train.tok";
inline constexpr std::string_view kValShardFileName = "val.tok";
inline constexpr std::string_view kManifestFileName = "manifest.json";
inline constexpr std::string_view kDefaultCorpusDir = "data/corpus";

enum class Split { kTrain, kVal };
std::string_view split_name(Split split);  // "train" / "val"
// <dir>/train.tok or <dir>/val.tok; <dir>/tokenizer.model.
std::string shard_path(const std::string& dir, Split split);
std::string tokenizer_path(const std::string& dir);

struct TokenShard {
  uint32_t vocab_size = 0;
  std::vector<uint32_t> tokens;
  std::vector<uint64_t> document_offsets = {0};  // document_count() + 1 entries

  uint64_t document_count() const { return document_offsets.size() - 1; }
  // Appends one document (its tokens should start with BOS).
  void add_document(std::span<const uint32_t> document_tokens);
  std::span<const uint32_t> document(uint64_t index) const;
};

// FNV-1a 64-bit, the shard checksum.
uint64_t fnv1a64(std::span<const uint8_t> bytes, uint64_t state = 0xcbf29ce484222325ull);

// Serialized bytes of a shard. Internal check: the shard is consistent (offsets, ids < vocab_size).
std::vector<uint8_t> serialize_token_shard(const TokenShard& shard);
// Writes atomically (temporary file, fsync, rename).
Status write_token_shard(const std::string& path, const TokenShard& shard);

// Validates everything (magic, version, width, sizes against the file size, checksum, offsets,
// token ids < vocab_size); errors name `name`, the field, the expectation and the value found.
Result<TokenShard> parse_token_shard(std::span<const uint8_t> bytes, const std::string& name);
Result<TokenShard> read_token_shard(const std::string& path);

}  // namespace sherry::corpus
