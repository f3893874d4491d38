#include "jit/path_log.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>

namespace sherry::jit {

void log_path_used(std::string_view family, std::string_view path) {
  static std::mutex mutex;
  static std::set<std::string> logged;
  std::string line = std::string(family) + " " + std::string(path);
  std::lock_guard lock(mutex);
  if (!logged.insert(line).second) return;
  const char* file = std::getenv("SHERRY_PATH_LOG");
  if (file == nullptr || *file == '\0') return;
  // One short write in append mode: lines of concurrent test processes do not interleave.
  if (std::FILE* log = std::fopen(file, "a")) {
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), log);
    std::fclose(log);
  }
}

}  // namespace sherry::jit
