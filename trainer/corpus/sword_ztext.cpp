#include "trainer/corpus/sword_ztext.h"

#include <array>
#include <map>
#include <set>
#include <tuple>

#include "trainer/corpus/decompress.h"
#include "trainer/corpus/file_io.h"

namespace sherry::corpus {
namespace {

constexpr size_t kBlockEntryBytes = 12;
constexpr size_t kMaxBlockBytes = size_t{64} << 20;  // a whole-book block is a few MB

uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

}  // namespace

Result<std::vector<std::string>> read_ztext_entries(const ZTextFiles& files,
                                                    const std::string& name, int entry_bytes,
                                                    char block_letter) {
  const std::string file = name + "." + block_letter;  // "<dir>/ot.b": + "zs", "zv", "zz"
  SHERRY_CHECK(entry_bytes == 10 || entry_bytes == 12);
  const auto kVerseEntryBytes = static_cast<size_t>(entry_bytes);
  if (files.bzs.size() % kBlockEntryBytes != 0)
    return make_error("{}zs: size: expected a multiple of {} bytes, found {}", file,
                      kBlockEntryBytes, files.bzs.size());
  if (files.bzv.size() % kVerseEntryBytes != 0)
    return make_error("{}zv: size: expected a multiple of {} bytes, found {}", file,
                      kVerseEntryBytes, files.bzv.size());
  const size_t block_count = files.bzs.size() / kBlockEntryBytes;
  std::map<uint32_t, std::vector<uint8_t>> blocks;  // decompressed on first use
  auto block = [&](uint32_t index) -> Result<const std::vector<uint8_t>*> {
    if (auto found = blocks.find(index); found != blocks.end()) return &found->second;
    const uint8_t* entry = files.bzs.data() + size_t{index} * kBlockEntryBytes;
    const uint64_t offset = le32(entry), size = le32(entry + 4), raw_size = le32(entry + 8);
    if (offset > files.bzz.size() || size > files.bzz.size() - offset)
      return make_error(
          "{}zs: block {}: expected bytes {}..{} inside {}zz, found a file of {} bytes", file,
          index, offset, offset + size, file, files.bzz.size());
    if (raw_size > kMaxBlockBytes)
      return make_error("{}zs: block {}: expected an uncompressed size of at most {}, found {}",
                        file, index, kMaxBlockBytes, raw_size);
    auto bytes = decompress(Compression::kZlib, files.bzz.subspan(offset, size), 0,
                            fmt::format("{}zz: block {}", file, index), kMaxBlockBytes,
                            /*allow_trailing=*/true);
    if (!bytes) return bytes.error();
    // The size field is a hint some writers leave stale; the zlib stream is authoritative.
    return &blocks.emplace(index, std::move(*bytes)).first->second;
  };

  const size_t entry_count = files.bzv.size() / kVerseEntryBytes;
  auto entry_at = [&](size_t i) {
    const uint8_t* entry = files.bzv.data() + i * kVerseEntryBytes;
    const uint32_t size =
        kVerseEntryBytes == 12 ? le32(entry + 8) : uint32_t{entry[8]} | (uint32_t{entry[9]} << 8);
    return std::array<uint32_t, 3>{le32(entry), le32(entry + 4), size};
  };
  std::vector<std::string> entries(entry_count);
  std::set<std::tuple<uint32_t, uint32_t, uint32_t>> seen;  // links share one text
  for (size_t i = 0; i < entry_count; ++i) {
    const auto [block_index, offset, stored_size] = entry_at(i);
    if (stored_size == 0) continue;  // an empty heading or a verse this translation lacks
    if (!seen.insert({block_index, offset, stored_size}).second) continue;  // a repeated link
    // The 16-bit size field wraps for entries over 64 KiB (osis2mod lets it): when the next entry
    // in the same block starts a whole number of 64 KiB further on, that is the size.
    uint64_t size = stored_size;
    if (kVerseEntryBytes == 10 && i + 1 < entry_count) {
      const auto [next_block, next_offset, next_size] = entry_at(i + 1);
      const uint64_t end = uint64_t{offset} + stored_size;
      if (next_block == block_index && next_offset > end && (next_offset - end) % 65536 == 0)
        size = next_offset - offset;
    }
    if (block_index >= block_count)
      return make_error("{}zv: entry {}: expected a block below {}, found {}", file, i, block_count,
                        block_index);
    auto bytes = block(block_index);
    if (!bytes) return bytes.error();
    const std::vector<uint8_t>& text = **bytes;
    if (offset > text.size() || size > text.size() - offset)
      return make_error(
          "{}zv: entry {}: expected bytes {}..{} inside block {}, found a block of {} bytes", file,
          i, offset, offset + size, block_index, text.size());
    entries[i].assign(reinterpret_cast<const char*>(text.data() + offset), size);
  }
  return entries;
}

Result<std::vector<std::string>> read_ztext_testament(const std::string& dir,
                                                      const std::string& testament,
                                                      ZTextLayout layout) {
  const std::string base = dir + "/" + testament;
  const std::string prefix = base + "." + layout.block_letter + "z";
  auto bzs = read_file_bytes(prefix + "s");
  if (!bzs) return bzs.error();
  auto bzv = read_file_bytes(prefix + "v");
  if (!bzv) return bzv.error();
  auto bzz = read_file_bytes(prefix + "z");
  if (!bzz) return bzz.error();
  return read_ztext_entries(ZTextFiles{*bzs, *bzv, *bzz}, base, layout.entry_bytes,
                            layout.block_letter);
}

}  // namespace sherry::corpus
