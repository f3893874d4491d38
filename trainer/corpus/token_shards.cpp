#include "trainer/corpus/token_shards.h"

#include <cstring>

#include "trainer/corpus/file_io.h"

namespace sherry::corpus {
namespace {

void put_u32(std::vector<uint8_t>& out, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(value >> (8 * i));
}
void put_u64(std::vector<uint8_t>& out, size_t at, uint64_t value) {
  for (int i = 0; i < 8; ++i) out[at + i] = static_cast<uint8_t>(value >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(p[i]) << (8 * i);
  return value;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= static_cast<uint64_t>(p[i]) << (8 * i);
  return value;
}

uint32_t token_width(uint32_t vocab_size) {
  return vocab_size <= 65536 ? 2 : 4;
}

}  // namespace

std::string_view split_name(Split split) {
  return split == Split::kTrain ? "train" : "val";
}

std::string shard_path(const std::string& dir, Split split) {
  return dir + "/" + std::string(split == Split::kTrain ? kTrainShardFileName : kValShardFileName);
}

std::string tokenizer_path(const std::string& dir) {
  return dir + "/" + std::string(kTokenizerFileName);
}

void TokenShard::add_document(std::span<const uint32_t> document_tokens) {
  tokens.insert(tokens.end(), document_tokens.begin(), document_tokens.end());
  document_offsets.push_back(tokens.size());
}

std::span<const uint32_t> TokenShard::document(uint64_t index) const {
  SHERRY_CHECK(index < document_count(), "document {} of {}", index, document_count());
  return std::span<const uint32_t>(tokens).subspan(
      document_offsets[index], document_offsets[index + 1] - document_offsets[index]);
}

uint64_t fnv1a64(std::span<const uint8_t> bytes, uint64_t state) {
  for (uint8_t byte : bytes) {
    state ^= byte;
    state *= 0x100000001b3ull;
  }
  return state;
}

std::vector<uint8_t> serialize_token_shard(const TokenShard& shard) {
  SHERRY_CHECK(shard.vocab_size > 0);
  SHERRY_CHECK(!shard.document_offsets.empty() && shard.document_offsets.front() == 0 &&
               shard.document_offsets.back() == shard.tokens.size());
  const uint32_t width = token_width(shard.vocab_size);
  const size_t offsets_bytes = shard.document_offsets.size() * 8;
  std::vector<uint8_t> out(kShardHeaderBytes + offsets_bytes + shard.tokens.size() * width, 0);
  std::memcpy(out.data(), kShardMagic.data(), kShardMagic.size());
  put_u32(out, 8, kShardVersion);
  put_u32(out, 12, width);
  put_u32(out, 16, shard.vocab_size);
  put_u64(out, 24, shard.document_count());
  put_u64(out, 32, shard.tokens.size());
  size_t at = kShardHeaderBytes;
  for (size_t i = 0; i < shard.document_offsets.size(); ++i, at += 8) {
    SHERRY_CHECK(i == 0 || shard.document_offsets[i] >= shard.document_offsets[i - 1]);
    put_u64(out, at, shard.document_offsets[i]);
  }
  for (uint32_t token : shard.tokens) {
    SHERRY_CHECK(token < shard.vocab_size, "token {} >= vocab size {}", token, shard.vocab_size);
    for (uint32_t i = 0; i < width; ++i) out[at++] = static_cast<uint8_t>(token >> (8 * i));
  }
  std::span<const uint8_t> body(out.data() + kShardHeaderBytes, out.size() - kShardHeaderBytes);
  put_u64(out, 40, fnv1a64(body));
  return out;
}

Status write_token_shard(const std::string& path, const TokenShard& shard) {
  return write_file_atomic(path, serialize_token_shard(shard));
}

Result<TokenShard> parse_token_shard(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.size() < kShardHeaderBytes)
    return make_error("{}: token shard header: expected at least {} bytes, found a file of {}",
                      name, kShardHeaderBytes, bytes.size());
  const uint8_t* p = bytes.data();
  if (std::memcmp(p, kShardMagic.data(), kShardMagic.size()) != 0)
    return make_error("{}: token shard magic: expected \"{}\", found \"{}\"", name, kShardMagic,
                      std::string(reinterpret_cast<const char*>(p), kShardMagic.size()));
  const uint32_t version = get_u32(p + 8);
  if (version != kShardVersion)
    return make_error("{}: token shard version: expected {}, found {}", name, kShardVersion,
                      version);
  TokenShard shard;
  shard.vocab_size = get_u32(p + 16);
  if (shard.vocab_size == 0)
    return make_error("{}: token shard vocab_size: expected > 0, found 0", name);
  const uint32_t width = get_u32(p + 12);
  if (width != token_width(shard.vocab_size))
    return make_error("{}: token shard token width: expected {} bytes for vocab_size {}, found {}",
                      name, token_width(shard.vocab_size), shard.vocab_size, width);
  if (get_u32(p + 20) != 0 || get_u64(p + 48) != 0 || get_u64(p + 56) != 0)
    return make_error("{}: token shard reserved header fields: expected 0, found non-zero", name);
  const uint64_t document_count = get_u64(p + 24);
  const uint64_t token_count = get_u64(p + 32);
  // Sizes against the file size, overflow-safe: each count is bounded by the bytes available.
  const uint64_t available = bytes.size() - kShardHeaderBytes;
  if (document_count >= available / 8 || token_count > available / width ||
      (document_count + 1) * 8 + token_count * width != available)
    return make_error(
        "{}: token shard size: header says {} documents and {} tokens of {} bytes, which needs "
        "{} bytes after the header, found {}",
        name, document_count, token_count, width,
        document_count < available && token_count <= available
            ? fmt::format("{}", (document_count + 1) * 8 + token_count * width)
            : std::string("more than the file's"),
        available);
  const uint64_t stored_checksum = get_u64(p + 40);
  const uint64_t checksum = fnv1a64(bytes.subspan(kShardHeaderBytes));
  if (stored_checksum != checksum)
    return make_error("{}: token shard checksum: expected {:#018x} (computed), found {:#018x}",
                      name, checksum, stored_checksum);
  const uint8_t* at = p + kShardHeaderBytes;
  shard.document_offsets.resize(document_count + 1);
  for (uint64_t d = 0; d <= document_count; ++d, at += 8) {
    const uint64_t offset = get_u64(at);
    const uint64_t previous = d == 0 ? 0 : shard.document_offsets[d - 1];
    if (offset < previous || offset > token_count || (d == 0 && offset != 0) ||
        (d == document_count && offset != token_count))
      return make_error(
          "{}: token shard document offset {}: expected {} (non-decreasing, first 0, last "
          "token_count {}), found {}",
          name, d,
          d == 0                ? std::string("0")
          : d == document_count ? fmt::format("{}", token_count)
                                : fmt::format("between {} and {}", previous, token_count),
          token_count, offset);
    shard.document_offsets[d] = offset;
  }
  shard.tokens.resize(token_count);
  for (uint64_t t = 0; t < token_count; ++t, at += width) {
    const uint32_t token = width == 2 ? static_cast<uint32_t>(at[0] | (at[1] << 8)) : get_u32(at);
    if (token >= shard.vocab_size)
      return make_error("{}: token shard token {}: expected an id below vocab_size {}, found {}",
                        name, t, shard.vocab_size, token);
    shard.tokens[t] = token;
  }
  return shard;
}

Result<TokenShard> read_token_shard(const std::string& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes) return bytes.error();
  return parse_token_shard(*bytes, path);
}

}  // namespace sherry::corpus
