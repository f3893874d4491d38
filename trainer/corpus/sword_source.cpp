#include "trainer/corpus/sword_source.h"

#include <array>

#include "trainer/corpus/osis_text.h"

namespace sherry::corpus {
namespace {

constexpr std::array<SwordModuleInfo, 5> kModules = {{
    {"web", "usr/share/sword/modules/texts/ztext/engWEB2015eb", {'b', 10}, false},
    {"kjv", "usr/share/sword/modules/texts/ztext/engKJV2006eb", {'b', 10}, false},
    {"mhcc", "usr/share/sword/modules/comments/zcom/mhcc", {'b', 10}, true},
    {"scofield", "usr/share/sword/modules/comments/zcom/scofield", {'b', 10}, true},
    {"tdavid", "usr/share/sword/modules/comments/zcom/tdavid", {'c', 12}, true},
}};

}  // namespace

const SwordModuleInfo* find_sword_module(std::string_view source) {
  for (const SwordModuleInfo& module : kModules)
    if (module.source == source) return &module;
  return nullptr;
}

Result<std::vector<Document>> read_sword_source(const std::string& package_root,
                                                const SwordModuleInfo& module) {
  const std::string dir = package_root + "/" + std::string(module.module_dir);
  OsisExtractor extractor(std::string(module.source), module.commentary);
  for (const char* testament : {"ot", "nt"}) {
    auto entries = read_ztext_testament(dir, testament, module.layout);
    if (!entries) return entries.error();
    for (size_t i = 0; i < entries->size(); ++i)
      SHERRY_TRY(extractor.add_entry(
          (*entries)[i],
          fmt::format("{}/{}.{}zv: entry {}", dir, testament, module.layout.block_letter, i)));
  }
  std::vector<Document> documents = extractor.finish();
  if (documents.empty())
    return make_error("{}: expected OSIS books (<div type=\"book\" …>), found none", dir);
  return documents;
}

}  // namespace sherry::corpus
