// Helpers for the corpus tests: hand-built R serialization (XDR) blobs, compression, temp dirs.
#pragma once

#include <bzlib.h>
#include <lzma.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "testing/temp_dir.h"

namespace sherry::corpus::test {

// Writes R's XDR serialization by hand, item by item, like R's serialize.c does.
class XdrWriter {
 public:
  // "X\n", version, writer version 4.2.1, reader version 3.5.0 (+ native encoding for v3).
  explicit XdrWriter(int version = 3, const std::string& native_encoding = "UTF-8") {
    bytes_ = {'X', '\n'};
    put_int(version);
    put_int(0x00040201);
    put_int(0x00030500);
    if (version == 3) {
      put_int(static_cast<int32_t>(native_encoding.size()));
      put_raw(native_encoding);
    }
  }
  XdrWriter& put_int(int32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8)
      bytes_.push_back(static_cast<uint8_t>(static_cast<uint32_t>(value) >> shift));
    return *this;
  }
  XdrWriter& put_raw(const std::string& text) {
    bytes_.insert(bytes_.end(), text.begin(), text.end());
    return *this;
  }
  // Item flags: type | object bit | attribute bit | tag bit | levels << 12.
  XdrWriter& flags(int type, bool has_attr = false, bool has_tag = false, int levels = 0,
                   bool is_object = false) {
    return put_int(type | (is_object ? 1 << 8 : 0) | (has_attr ? 1 << 9 : 0) |
                   (has_tag ? 1 << 10 : 0) | (levels << 12));
  }
  // CHARSXP; levels carries the encoding bits (UTF-8 8, Latin-1 4, ASCII 64).
  XdrWriter& charsxp(const std::string& text, int levels = 64) {
    flags(9, false, false, levels);
    put_int(static_cast<int32_t>(text.size()));
    return put_raw(text);
  }
  XdrWriter& na_string() { return flags(9).put_int(-1); }
  XdrWriter& symbol(const std::string& name) {
    flags(1);
    return charsxp(name);
  }
  XdrWriter& reference(int index) { return put_int(255 | (index << 8)); }
  XdrWriter& nil() { return put_int(254); }
  XdrWriter& strings(const std::vector<std::string>& values, bool has_attr = false) {
    flags(16, has_attr);
    put_int(static_cast<int32_t>(values.size()));
    for (const auto& value : values) charsxp(value);
    return *this;
  }
  XdrWriter& ints(int type, const std::vector<int32_t>& values, bool has_attr = false) {
    flags(type, has_attr, false, 0, has_attr);
    put_int(static_cast<int32_t>(values.size()));
    for (int32_t value : values) put_int(value);
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

inline std::vector<uint8_t> zlib_compress(const std::vector<uint8_t>& input, bool gzip = false) {
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, 9, Z_DEFLATED, gzip ? 31 : 15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<uint8_t> out(deflateBound(&stream, input.size()) + 32);
  stream.next_in = const_cast<Bytef*>(input.data());
  stream.avail_in = static_cast<uInt>(input.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

inline std::vector<uint8_t> bzip2_compress(const std::vector<uint8_t>& input) {
  std::vector<uint8_t> out(input.size() + input.size() / 100 + 700);
  unsigned size = static_cast<unsigned>(out.size());
  REQUIRE(BZ2_bzBuffToBuffCompress(reinterpret_cast<char*>(out.data()), &size,
                                   const_cast<char*>(reinterpret_cast<const char*>(input.data())),
                                   static_cast<unsigned>(input.size()), 9, 0, 0) == BZ_OK);
  out.resize(size);
  return out;
}

inline std::vector<uint8_t> xz_compress(const std::vector<uint8_t>& input) {
  std::vector<uint8_t> out(lzma_stream_buffer_bound(input.size()));
  size_t size = 0;
  REQUIRE(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr, input.data(), input.size(),
                                  out.data(), &size, out.size()) == LZMA_OK);
  out.resize(size);
  return out;
}

inline void put_be32(std::vector<uint8_t>& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

inline void put_le(std::vector<uint8_t>& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// Seeded byte corruption for robustness tests: flips, overwrites or truncates a few bytes.
class Corrupter {
 public:
  explicit Corrupter(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  std::vector<uint8_t> corrupt(std::vector<uint8_t> bytes, size_t protect_prefix = 0) {
    if (bytes.size() <= protect_prefix) return bytes;
    const size_t span = bytes.size() - protect_prefix;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = protect_prefix + next() % span;
      switch (next() % 4) {
        case 0:
          bytes[at] ^= static_cast<uint8_t>(1u << (next() % 8));
          break;
        case 1:
          bytes[at] = static_cast<uint8_t>(next());
          break;
        case 2:
          bytes[at] = (next() % 2) ? 0xFF : 0x00;
          break;
        case 3:
          bytes.resize(at);
          return bytes;
      }
    }
    return bytes;
  }

 private:
  uint64_t state_;
};

using ::sherry::testing::TempDir;

// The error message of a failed Result/Status, "" otherwise: safe inside doctest's *_MESSAGE
// macros, which stringify their message on success too when run with -s.
template <class R>
std::string error_text(const R& result) {
  return result.ok() ? std::string() : result.error().message();
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace sherry::corpus::test
