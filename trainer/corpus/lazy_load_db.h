// R's lazy-load database: <base>.rdx (a serialized, usually gzip-compressed index: a list of
// variables -> (offset, length) into <base>.rdb, plus the compression kind) and <base>.rdb (one
// compressed serialized object per variable: 4-byte big-endian uncompressed size, then zlib
// (compression 1), or a type byte '0'/'1'/'2'/'Z' (compressions 2 and 3) and the stream).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "trainer/corpus/r_serialize.h"

namespace sherry::corpus {

struct LazyLoadEntry {
  std::string name;
  uint64_t offset = 0;
  uint64_t length = 0;
};

class LazyLoadDb {
 public:
  // Reads <base>.rdx and <base>.rdb (base without extension, e.g. ".../data/Rdata").
  static Result<LazyLoadDb> open(const std::string& base);
  // Same from bytes; `base` names the files in errors.
  static Result<LazyLoadDb> parse(std::span<const uint8_t> rdx, std::vector<uint8_t> rdb,
                                  const std::string& base);

  const std::vector<LazyLoadEntry>& variables() const { return variables_; }
  int compression() const { return compression_; }
  // Decompresses and unserializes one variable.
  Result<r::ObjectPtr> load(std::string_view variable) const;

 private:
  std::string base_;
  std::vector<LazyLoadEntry> variables_;
  int compression_ = 1;
  std::vector<uint8_t> rdb_;
};

}  // namespace sherry::corpus
