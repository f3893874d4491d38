// The Jargon File (version 4.4.7, public domain) from Debian's dict-jargon: a dictd database,
// usr/share/dictd/jargon.index (one line per headword: "headword<TAB>offset<TAB>length", the
// numbers in dictd's base 64, A–Z a–z 0–9 + /) and jargon.dict.dz (the definitions, gzip'ed by
// dictzip). Each definition: the headword, a line of pronunciation and part of speech, then
// paragraphs indented and hard-wrapped, cross references in {braces}.
// The corpus keeps the headword and the paragraphs (braces removed, lines joined; preformatted
// lines, indented past the text, and box-drawn tables dropped), entries in file order, one document
// per initial letter ("jargon/A" … "jargon/Z", "jargon/0" for the others); the database's own
// 00-database-* entries are skipped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "trainer/corpus/document.h"

namespace sherry::corpus {

inline constexpr std::string_view kJargonIndex = "usr/share/dictd/jargon.index";
inline constexpr std::string_view kJargonDict = "usr/share/dictd/jargon.dict.dz";

// dictd's base-64 number ("B" = 1, "BA" = 64); false on a character outside the alphabet or
// overflow.
bool decode_dictd_number(std::string_view text, uint64_t* value);

// Documents from the index text and the uncompressed dictionary; `index_name` names the index in
// errors (a malformed line, an entry outside the dictionary).
Result<std::vector<Document>> jargon_documents(std::string_view index, std::string_view dict,
                                               const std::string& index_name);

// All of it from an extracted package root (the folder dpkg -x wrote).
Result<std::vector<Document>> read_jargon(const std::string& package_root);

}  // namespace sherry::corpus
