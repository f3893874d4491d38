#include "trainer/corpus/decompress.h"

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace sherry::corpus {
namespace {

std::string_view compression_name(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "uncompressed";
    case Compression::kZlib:
      return "zlib";
    case Compression::kGzip:
      return "gzip";
    case Compression::kBzip2:
      return "bzip2";
    case Compression::kXz:
      return "xz";
  }
  return "?";
}

// Output buffer policy shared by the three libraries: the known size plus one byte (so a stream
// that would produce more shows it), else doubling.
size_t next_capacity(size_t current, size_t expected, size_t max_size) {
  if (expected > 0) return expected + 1;
  return std::min(max_size, std::max<size_t>(current * 2, 1 << 16));
}

Result<std::vector<uint8_t>> inflate_stream(std::span<const uint8_t> input, bool gzip,
                                            size_t expected, const std::string& what,
                                            size_t max_size, bool allow_trailing) {
  z_stream stream{};
  if (inflateInit2(&stream, gzip ? 15 + 16 : 15) != Z_OK)
    return make_error("{}: zlib initialisation failed", what);
  std::vector<uint8_t> out(next_capacity(0, expected, max_size));
  stream.next_in = const_cast<Bytef*>(input.data());
  stream.avail_in = static_cast<uInt>(input.size());
  int code = Z_OK;
  size_t produced = 0;
  while (true) {
    stream.next_out = out.data() + produced;
    stream.avail_out = static_cast<uInt>(out.size() - produced);
    code = inflate(&stream, Z_NO_FLUSH);
    produced = out.size() - stream.avail_out;
    if (code == Z_STREAM_END) break;
    if (code == Z_BUF_ERROR && stream.avail_in == 0) break;  // input ended early
    if (code != Z_OK && code != Z_BUF_ERROR) break;
    if (stream.avail_out == 0) {
      if (expected > 0 || out.size() >= max_size) break;
      out.resize(next_capacity(out.size(), 0, max_size));
    }
  }
  const size_t unused = stream.avail_in;
  inflateEnd(&stream);
  if (code != Z_STREAM_END)
    return make_error("{}: {} stream: expected a complete stream, found {} after {} output bytes",
                      what, gzip ? "gzip" : "zlib",
                      code == Z_DATA_ERROR    ? "corrupt data"
                      : stream.avail_out == 0 ? "more output than expected"
                                              : "truncated input",
                      produced);
  if (unused != 0 && !gzip && !allow_trailing)
    return make_error("{}: zlib stream: expected it to end the data, found {} trailing bytes", what,
                      unused);
  out.resize(produced);
  return out;
}

Result<std::vector<uint8_t>> bunzip2(std::span<const uint8_t> input, size_t expected,
                                     const std::string& what, size_t max_size) {
  bz_stream stream{};
  if (BZ2_bzDecompressInit(&stream, 0, 0) != BZ_OK)
    return make_error("{}: bzip2 initialisation failed", what);
  std::vector<uint8_t> out(next_capacity(0, expected, max_size));
  stream.next_in = const_cast<char*>(reinterpret_cast<const char*>(input.data()));
  stream.avail_in = static_cast<unsigned>(input.size());
  int code = BZ_OK;
  size_t produced = 0;
  while (true) {
    stream.next_out = reinterpret_cast<char*>(out.data() + produced);
    stream.avail_out = static_cast<unsigned>(out.size() - produced);
    code = BZ2_bzDecompress(&stream);
    produced = out.size() - stream.avail_out;
    if (code != BZ_OK) break;
    if (stream.avail_out == 0) {
      if (expected > 0 || out.size() >= max_size) break;
      out.resize(next_capacity(out.size(), 0, max_size));
    } else if (stream.avail_in == 0) {
      break;
    }
  }
  BZ2_bzDecompressEnd(&stream);
  if (code != BZ_STREAM_END)
    return make_error(
        "{}: bzip2 stream: expected a complete stream, found {} after {} output bytes", what,
        code == BZ_OK ? "truncated input or more output than expected" : "corrupt data", produced);
  out.resize(produced);
  return out;
}

Result<std::vector<uint8_t>> unxz(std::span<const uint8_t> input, size_t expected,
                                  const std::string& what, size_t max_size) {
  lzma_stream stream = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&stream, UINT64_MAX, 0) != LZMA_OK)
    return make_error("{}: xz initialisation failed", what);
  std::vector<uint8_t> out(next_capacity(0, expected, max_size));
  stream.next_in = input.data();
  stream.avail_in = input.size();
  lzma_ret code = LZMA_OK;
  size_t produced = 0;
  while (true) {
    stream.next_out = out.data() + produced;
    stream.avail_out = out.size() - produced;
    code = lzma_code(&stream, LZMA_FINISH);
    produced = out.size() - stream.avail_out;
    if (code != LZMA_OK) break;
    if (stream.avail_out == 0) {
      if (expected > 0 || out.size() >= max_size) break;
      out.resize(next_capacity(out.size(), 0, max_size));
    }
  }
  lzma_end(&stream);
  if (code != LZMA_STREAM_END)
    return make_error(
        "{}: xz stream: expected a complete stream, found {} after {} output bytes", what,
        code == LZMA_OK || code == LZMA_BUF_ERROR ? "truncated input or more output than expected"
                                                  : "corrupt data",
        produced);
  out.resize(produced);
  return out;
}

}  // namespace

Compression sniff_compression(std::span<const uint8_t> bytes) {
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return Compression::kGzip;
  if (bytes.size() >= 3 && std::memcmp(bytes.data(), "BZh", 3) == 0) return Compression::kBzip2;
  if (bytes.size() >= 6 && std::memcmp(bytes.data(),
                                       "\xFD"
                                       "7zXZ\0",
                                       6) == 0)
    return Compression::kXz;
  return Compression::kNone;
}

Result<std::vector<uint8_t>> decompress(Compression compression, std::span<const uint8_t> input,
                                        size_t expected_size, const std::string& what,
                                        size_t max_size, bool allow_trailing) {
  if (expected_size > max_size)
    return make_error("{}: {} data: expected an output size of at most {} bytes, found {}", what,
                      compression_name(compression), max_size, expected_size);
  Result<std::vector<uint8_t>> out = std::vector<uint8_t>();
  switch (compression) {
    case Compression::kNone:
      out = std::vector<uint8_t>(input.begin(), input.end());
      break;
    case Compression::kZlib:
      out = inflate_stream(input, false, expected_size, what, max_size, allow_trailing);
      break;
    case Compression::kGzip:
      out = inflate_stream(input, true, expected_size, what, max_size, false);
      break;
    case Compression::kBzip2:
      out = bunzip2(input, expected_size, what, max_size);
      break;
    case Compression::kXz:
      out = unxz(input, expected_size, what, max_size);
      break;
  }
  if (!out) return out;
  if (expected_size > 0 && out->size() != expected_size)
    return make_error("{}: {} data: expected {} bytes after decompression, found {}", what,
                      compression_name(compression), expected_size, out->size());
  return out;
}

}  // namespace sherry::corpus
