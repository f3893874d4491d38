// SWORD "zText" / "zCom" modules (Debian's sword-text-*, sword-comm-*): per testament ("ot",
// "nt") three files, <x> = 'b' (BlockType=BOOK) or 'c' (CHAPTER):
//   <t>.<x>zs  block index, 12 bytes per block: uint32 offset, compressed size, uncompressed size
//   <t>.<x>zv  verse index, 10 bytes per entry (zText, zCom: uint32 block, uint32 offset in the
//              uncompressed block, uint16 size) or 12 (zText4, zCom4: a uint32 size); entries for
//              module, testament, book and chapter headings too
//   <t>.<x>zz  the zlib-compressed blocks (CompressType=ZIP), concatenated
// All little-endian. Entries come back in index (canonical) order as raw OSIS XML. A commentary
// links every verse of a passage to one shared text: an entry whose (block, offset, size) repeats
// an earlier entry's comes back empty, so each text is read once.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"

namespace sherry::corpus {

struct ZTextFiles {
  std::span<const uint8_t> bzs, bzv, bzz;
};

// How a module's files are named and its verse index laid out.
struct ZTextLayout {
  char block_letter = 'b';  // file names <t>.<letter>zs, …
  int entry_bytes = 10;     // 10 (16-bit sizes) or 12 (32-bit sizes)
};

// Every index entry's text (empty entries and repeated links included as "", so positions match
// the verse index). `name` (e.g. ".../engWEB2015eb/ot") prefixes errors, which name the file and
// entry.
Result<std::vector<std::string>> read_ztext_entries(const ZTextFiles& files,
                                                    const std::string& name, int entry_bytes = 10,
                                                    char block_letter = 'b');
// Reads <dir>/<testament>.<letter>z{s,v,z}.
Result<std::vector<std::string>> read_ztext_testament(const std::string& dir,
                                                      const std::string& testament,
                                                      ZTextLayout layout = {});

}  // namespace sherry::corpus
