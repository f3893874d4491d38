#include "trainer/corpus/token_shards.h"

#include <doctest/doctest.h>

#include <cstring>

#include "tests/corpus/test_support.h"
#include "trainer/corpus/file_io.h"

namespace sherry::corpus {
namespace {

using test::contains;

TokenShard sample_shard(uint32_t vocab_size) {
  TokenShard shard;
  shard.vocab_size = vocab_size;
  const std::vector<uint32_t> first = {1, 5, 9, vocab_size - 1};
  const std::vector<uint32_t> second = {1, 7};
  shard.add_document(first);
  shard.add_document({});
  shard.add_document(second);
  return shard;
}

void put_u64(std::vector<uint8_t>& bytes, size_t at, uint64_t value) {
  for (int i = 0; i < 8; ++i) bytes[at + i] = static_cast<uint8_t>(value >> (8 * i));
}

// Re-signs the body after a deliberate corruption so the check under test is the one that fires.
void refresh_checksum(std::vector<uint8_t>& bytes) {
  put_u64(bytes, 40, fnv1a64(std::span<const uint8_t>(bytes).subspan(kShardHeaderBytes)));
}

std::string parse_error(const std::vector<uint8_t>& bytes) {
  auto shard = parse_token_shard(bytes, "data/corpus/train.tok");
  REQUIRE_FALSE(shard.ok());
  CHECK(contains(shard.error().message(), "data/corpus/train.tok: token shard"));
  return shard.error().message();
}

TEST_CASE("token shards round trip with 16-bit and 32-bit tokens") {
  for (uint32_t vocab_size : {4096u, 65536u, 65537u, 300000u}) {
    const TokenShard shard = sample_shard(vocab_size);
    const std::vector<uint8_t> bytes = serialize_token_shard(shard);
    const size_t width = vocab_size <= 65536 ? 2 : 4;
    CHECK(bytes.size() == kShardHeaderBytes + 4 * 8 + 6 * width);
    auto parsed = parse_token_shard(bytes, "shard");
    REQUIRE_MESSAGE(parsed.ok(), test::error_text(parsed));
    CHECK(parsed->vocab_size == vocab_size);
    CHECK(parsed->tokens == shard.tokens);
    CHECK(parsed->document_offsets == std::vector<uint64_t>{0, 4, 4, 6});
    CHECK(parsed->document_count() == 3);
    CHECK(parsed->document(2).size() == 2);
    CHECK(parsed->document(1).empty());
  }
}

TEST_CASE("token shards are written atomically and read back from disk") {
  test::TempDir dir;
  const std::string path = shard_path(dir.path(), Split::kVal);
  CHECK(path == dir.path() + "/val.tok");
  CHECK(tokenizer_path(dir.path()) == dir.path() + "/tokenizer.model");
  REQUIRE(write_token_shard(path, sample_shard(512)).ok());
  CHECK_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));
  auto shard = read_token_shard(path);
  REQUIRE_MESSAGE(shard.ok(), test::error_text(shard));
  CHECK(shard->tokens.size() == 6);
  auto missing = read_token_shard(dir.file("missing.tok"));
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error().message(), "missing.tok: cannot open for reading"));
}

TEST_CASE("a token shard shorter than its header is rejected") {
  std::vector<uint8_t> bytes = serialize_token_shard(sample_shard(512));
  bytes.resize(20);
  CHECK(contains(parse_error(bytes), "header: expected at least 64 bytes, found a file of 20"));
}

TEST_CASE("a token shard with the wrong magic is rejected") {
  std::vector<uint8_t> bytes = serialize_token_shard(sample_shard(512));
  std::memcpy(bytes.data(), "GGUFxxxx", 8);
  CHECK(contains(parse_error(bytes), "magic: expected \"SHRYTOKS\", found \"GGUFxxxx\""));
}

TEST_CASE("a token shard with an unknown version is rejected") {
  std::vector<uint8_t> bytes = serialize_token_shard(sample_shard(512));
  bytes[8] = 9;
  CHECK(contains(parse_error(bytes), "version: expected 1, found 9"));
}

TEST_CASE("a token shard with a zero vocabulary is rejected") {
  std::vector<uint8_t> bytes = serialize_token_shard(sample_shard(512));
  std::memset(bytes.data() + 16, 0, 4);
  CHECK(contains(parse_error(bytes), "vocab_size: expected > 0, found 0"));
}

TEST_CASE("a token shard whose token width does not fit its vocabulary is rejected") {
  std::vector<uint8_t> bytes = serialize_token_shard(sample_shard(512));
  bytes[12] = 4;
  CHECK(contains(parse_error(bytes), "token width: expected 2 bytes for vocab_size 512, found 4"));
}

TEST_CASE("a token shard with non-zero reserved fields is rejected") {
  std::vector<uint8_t> bytes = serialize_token_shard(sample_shard(512));
  bytes[50] = 1;
  CHECK(contains(parse_error(bytes), "reserved header fields: expected 0"));
}

TEST_CASE("a token shard whose counts disagree with the file size is rejected") {
  std::vector<uint8_t> bytes = serialize_token_shard(sample_shard(512));
  bytes.pop_back();
  CHECK(contains(parse_error(bytes),
                 "size: header says 3 documents and 6 tokens of 2 bytes, which needs 44 bytes "
                 "after the header, found 43"));
  bytes = serialize_token_shard(sample_shard(512));
  put_u64(bytes, 32, uint64_t{1} << 62);  // absurd token count: no overflow, a clear message
  CHECK(contains(parse_error(bytes), "more than the file's"));
}

TEST_CASE("a token shard with a bad checksum is rejected") {
  std::vector<uint8_t> bytes = serialize_token_shard(sample_shard(512));
  bytes.back() ^= 1;
  CHECK(contains(parse_error(bytes), "checksum: expected"));
}

TEST_CASE("a token shard with bad document offsets is rejected") {
  std::vector<uint8_t> bytes = serialize_token_shard(sample_shard(512));
  put_u64(bytes, kShardHeaderBytes, 1);  // first offset must be 0
  refresh_checksum(bytes);
  CHECK(contains(parse_error(bytes), "document offset 0: expected 0"));

  bytes = serialize_token_shard(sample_shard(512));
  put_u64(bytes, kShardHeaderBytes + 16, 2);  // offsets 0 4 2 6: decreasing
  refresh_checksum(bytes);
  CHECK(contains(parse_error(bytes), "document offset 2: expected between 4 and 6"));

  bytes = serialize_token_shard(sample_shard(512));
  put_u64(bytes, kShardHeaderBytes + 24, 5);  // last must be token_count
  refresh_checksum(bytes);
  CHECK(contains(parse_error(bytes), "document offset 3: expected 6"));
}

TEST_CASE("a token shard with a token id outside the vocabulary is rejected") {
  std::vector<uint8_t> bytes = serialize_token_shard(sample_shard(512));
  const size_t last_token = bytes.size() - 2;
  bytes[last_token] = 0x00;
  bytes[last_token + 1] = 0x02;  // 512
  refresh_checksum(bytes);
  CHECK(contains(parse_error(bytes), "token 5: expected an id below vocab_size 512, found 512"));
}

TEST_CASE("the file helpers report a missing directory by path") {
  const std::vector<uint8_t> bytes = {1, 2, 3};
  Status status = write_file_atomic("/nonexistent/sherry/dir/file.bin", bytes);
  REQUIRE_FALSE(status.ok());
  CHECK(contains(status.error().message(), "/nonexistent/sherry/dir/file.bin.tmp."));
}

TEST_CASE("randomly corrupted token shards are rejected or valid and never crash") {
  const std::vector<uint8_t> original = serialize_token_shard(sample_shard(512));
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    CAPTURE(seed);
    test::Corrupter corrupter(seed);
    std::vector<uint8_t> bytes = corrupter.corrupt(original);
    // Half the time re-sign the body so the checks behind the checksum are reached too.
    if (seed % 2 == 0 && bytes.size() >= kShardHeaderBytes) refresh_checksum(bytes);
    auto shard = parse_token_shard(bytes, "fuzz.tok");
    if (!shard.ok()) {
      CHECK(contains(shard.error().message(), "fuzz.tok: token shard"));
      continue;
    }
    for (uint32_t token : shard->tokens) CHECK(token < shard->vocab_size);
    CHECK(shard->document_offsets.back() == shard->tokens.size());
  }
}

}  // namespace
}  // namespace sherry::corpus
