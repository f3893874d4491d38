// Decompression of the containers the corpus sources use: zlib and gzip (R, SWORD), bzip2 and
// xz (R's other lazy-load compressions). Errors name the object being decompressed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"

namespace sherry::corpus {

enum class Compression { kNone, kZlib, kGzip, kBzip2, kXz };

// Recognises a gzip, bzip2 or xz stream by its magic bytes; kNone otherwise.
Compression sniff_compression(std::span<const uint8_t> bytes);

// Decompresses a whole stream. expected_size: the exact output size when known (0: unknown,
// growing the output as needed up to max_size). Output size mismatches are errors, and so are
// bytes after a zlib stream unless allow_trailing (SWORD pads its blocks).
Result<std::vector<uint8_t>> decompress(Compression compression, std::span<const uint8_t> input,
                                        size_t expected_size, const std::string& what,
                                        size_t max_size = size_t{1} << 31,
                                        bool allow_trailing = false);

}  // namespace sherry::corpus
