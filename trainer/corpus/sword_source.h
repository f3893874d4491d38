// The SWORD modules the corpus reads (Debian's sword-text-* and sword-comm-* packages): which
// module directory each package holds, how its files are laid out, and whether it is a Bible or a
// commentary. One document per book of the module, in canonical order, each with its OSIS book id
// (Document::book) so the split can hold a book out of every Bible-derived source at once.
//
//   source    package               module (usr/share/sword/modules/…)  layout
//   web       sword-text-web        texts/ztext/engWEB2015eb            zText, book blocks
//   kjv       sword-text-kjv        texts/ztext/engKJV2006eb            zText, book blocks
//   mhcc      sword-comm-mhcc       comments/zcom/mhcc                  zCom (10-byte index)
//   scofield  sword-comm-scofield   comments/zcom/scofield              zCom
//   tdavid    sword-comm-tdavid     comments/zcom/tdavid                zCom4, chapter blocks
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "trainer/corpus/document.h"
#include "trainer/corpus/sword_ztext.h"

namespace sherry::corpus {

struct SwordModuleInfo {
  std::string_view source;      // "web"
  std::string_view module_dir;  // relative to the package root
  ZTextLayout layout;
  bool commentary;  // its introductions are prose (kept), a Bible's are front matter (dropped)
};

// The module of a source name, or null when `source` is not a SWORD source.
const SwordModuleInfo* find_sword_module(std::string_view source);

// Documents from an extracted package root (the folder dpkg -x wrote). Errors name the file and
// the entry; a module without any book is an error.
Result<std::vector<Document>> read_sword_source(const std::string& package_root,
                                                const SwordModuleInfo& module);

}  // namespace sherry::corpus
