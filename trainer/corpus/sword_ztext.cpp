#include "trainer/corpus/sword_ztext.h"

#include <array>
#include <map>

#include "trainer/corpus/decompress.h"
#include "trainer/corpus/file_io.h"

namespace sherry::corpus {
namespace {

constexpr size_t kBlockEntryBytes = 12;
constexpr size_t kVerseEntryBytes = 10;
constexpr size_t kMaxBlockBytes = size_t{64} << 20;  // a whole-book block is a few MB

uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

}  // namespace

Result<std::vector<std::string>> read_ztext_entries(const ZTextFiles& files,
                                                    const std::string& name) {
  if (files.bzs.size() % kBlockEntryBytes != 0)
    return make_error("{}.bzs: size: expected a multiple of {} bytes, found {}", name,
                      kBlockEntryBytes, files.bzs.size());
  if (files.bzv.size() % kVerseEntryBytes != 0)
    return make_error("{}.bzv: size: expected a multiple of {} bytes, found {}", name,
                      kVerseEntryBytes, files.bzv.size());
  const size_t block_count = files.bzs.size() / kBlockEntryBytes;
  std::map<uint32_t, std::vector<uint8_t>> blocks;  // decompressed on first use
  auto block = [&](uint32_t index) -> Result<const std::vector<uint8_t>*> {
    if (auto found = blocks.find(index); found != blocks.end()) return &found->second;
    const uint8_t* entry = files.bzs.data() + size_t{index} * kBlockEntryBytes;
    const uint64_t offset = le32(entry), size = le32(entry + 4), raw_size = le32(entry + 8);
    if (offset > files.bzz.size() || size > files.bzz.size() - offset)
      return make_error(
          "{}.bzs: block {}: expected bytes {}..{} inside {}.bzz, found a file of {} bytes", name,
          index, offset, offset + size, name, files.bzz.size());
    if (raw_size > kMaxBlockBytes)
      return make_error("{}.bzs: block {}: expected an uncompressed size of at most {}, found {}",
                        name, index, kMaxBlockBytes, raw_size);
    auto bytes = decompress(Compression::kZlib, files.bzz.subspan(offset, size), 0,
                            fmt::format("{}.bzz: block {}", name, index), kMaxBlockBytes,
                            /*allow_trailing=*/true);
    if (!bytes) return bytes.error();
    // The size field is a hint some writers leave stale; the zlib stream is authoritative.
    return &blocks.emplace(index, std::move(*bytes)).first->second;
  };

  const size_t entry_count = files.bzv.size() / kVerseEntryBytes;
  auto entry_at = [&](size_t i) {
    const uint8_t* entry = files.bzv.data() + i * kVerseEntryBytes;
    return std::array<uint32_t, 3>{le32(entry), le32(entry + 4),
                                   uint32_t{entry[8]} | (uint32_t{entry[9]} << 8)};
  };
  std::vector<std::string> entries(entry_count);
  for (size_t i = 0; i < entry_count; ++i) {
    const auto [block_index, offset, stored_size] = entry_at(i);
    if (stored_size == 0) continue;  // an empty heading or a verse this translation lacks
    // The size field is 16 bits and osis2mod lets it wrap for entries over 64 KiB: when the
    // next entry in the same block starts a whole number of 64 KiB further on, that is the size.
    uint64_t size = stored_size;
    if (i + 1 < entry_count) {
      const auto [next_block, next_offset, next_size] = entry_at(i + 1);
      const uint64_t end = uint64_t{offset} + stored_size;
      if (next_block == block_index && next_offset > end && (next_offset - end) % 65536 == 0)
        size = next_offset - offset;
    }
    if (block_index >= block_count)
      return make_error("{}.bzv: entry {}: expected a block below {}, found {}", name, i,
                        block_count, block_index);
    auto bytes = block(block_index);
    if (!bytes) return bytes.error();
    const std::vector<uint8_t>& text = **bytes;
    if (offset > text.size() || size > text.size() - offset)
      return make_error(
          "{}.bzv: entry {}: expected bytes {}..{} inside block {}, found a block of {} bytes",
          name, i, offset, offset + size, block_index, text.size());
    entries[i].assign(reinterpret_cast<const char*>(text.data() + offset), size);
  }
  return entries;
}

Result<std::vector<std::string>> read_ztext_testament(const std::string& dir,
                                                      const std::string& testament) {
  const std::string base = dir + "/" + testament;
  auto bzs = read_file_bytes(base + ".bzs");
  if (!bzs) return bzs.error();
  auto bzv = read_file_bytes(base + ".bzv");
  if (!bzv) return bzv.error();
  auto bzz = read_file_bytes(base + ".bzz");
  if (!bzz) return bzz.error();
  return read_ztext_entries(ZTextFiles{*bzs, *bzv, *bzz}, base);
}

}  // namespace sherry::corpus
