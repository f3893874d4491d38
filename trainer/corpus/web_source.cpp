#include "trainer/corpus/web_source.h"

#include "trainer/corpus/osis_text.h"
#include "trainer/corpus/sword_ztext.h"

namespace sherry::corpus {

Result<std::vector<Document>> read_web(const std::string& package_root) {
  const std::string dir = package_root + "/" + std::string(kWebModuleDir);
  OsisExtractor extractor("web");
  for (const char* testament : {"ot", "nt"}) {
    auto entries = read_ztext_testament(dir, testament);
    if (!entries) return entries.error();
    for (size_t i = 0; i < entries->size(); ++i)
      SHERRY_TRY(extractor.add_entry((*entries)[i],
                                     fmt::format("{}/{}.bzv: entry {}", dir, testament, i)));
  }
  std::vector<Document> documents = extractor.finish();
  if (documents.empty())
    return make_error("{}: expected OSIS books (<div type=\"book\" …>), found none", dir);
  return documents;
}

}  // namespace sherry::corpus
