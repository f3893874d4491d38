// SWORD "zText" Bible modules (Debian's sword-text-*): per testament ("ot", "nt") three files:
//   <t>.bzs  block index, 12 bytes per block: uint32 offset, compressed size, uncompressed size
//   <t>.bzv  verse index, 10 bytes per entry: uint32 block, uint32 offset in the uncompressed
//            block, uint16 size (entries for module, testament, book and chapter headings too)
//   <t>.bzz  the zlib-compressed blocks (CompressType=ZIP), concatenated
// All little-endian. Entries come back in index (canonical) order as raw OSIS XML.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"

namespace sherry::corpus {

inline constexpr std::string_view kWebModuleDir =
    "usr/share/sword/modules/texts/ztext/engWEB2015eb";

struct ZTextFiles {
  std::span<const uint8_t> bzs, bzv, bzz;
};

// Every index entry's text (empty entries included, so positions match the verse index).
// `name` (e.g. ".../engWEB2015eb/ot") prefixes errors, which name the file and entry.
Result<std::vector<std::string>> read_ztext_entries(const ZTextFiles& files,
                                                    const std::string& name);
// Reads <dir>/<testament>.bz{s,v,z}.
Result<std::vector<std::string>> read_ztext_testament(const std::string& dir,
                                                      const std::string& testament);

}  // namespace sherry::corpus
