// The World English Bible from Debian's sword-text-web (SWORD zText module engWEB2015eb, OSIS
// markup, one zlib block per book): one document per book, Old Testament (with the
// deuterocanon) then New Testament.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "trainer/corpus/document.h"

namespace sherry::corpus {

// Documents from an extracted package root (the folder dpkg -x wrote).
Result<std::vector<Document>> read_web(const std::string& package_root);

}  // namespace sherry::corpus
