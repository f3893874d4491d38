// Debian packages as corpus sources, fetched without installing them: `apt-get download` into
// <cache>/debs/, then `dpkg -x` into <cache>/x/<package>/. Nothing is fetched when the .deb is
// already there, so a filled cache works offline.
#pragma once

#include <string>

#include "core/error.h"

namespace sherry::corpus {

struct FetchedPackage {
  std::string name;     // "r-cran-janeaustenr"
  std::string version;  // from the .deb file name, e.g. "1.0.0-1"
  std::string deb_path;
  std::string root;  // extracted file tree
};

// The cached .deb (newest file name when several), extracted if needed. With fetch = false a
// missing .deb is an error that says how to fetch it.
Result<FetchedPackage> ensure_package(const std::string& cache_dir, const std::string& package,
                                      bool fetch);

}  // namespace sherry::corpus
