#include "runtime/default_model.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace sherry::runtime {

Result<std::string> default_model_path() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("SHERRY_MODEL")) return std::string(env);
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    candidates.push_back(exe.parent_path().parent_path().parent_path() / "models" / "default.gguf");
  candidates.push_back(fs::current_path() / "models" / "default.gguf");
  for (const fs::path& p : candidates) {
    if (fs::exists(p)) return p.string();
  }
  return make_error(
      "no model given (-m) and no default model at {}: build it once with "
      "scripts/build_default_model.sh (or run scripts/run.sh, which does), or point "
      "SHERRY_MODEL or -m at a GGUF file",
      candidates.front().string());
}

}  // namespace sherry::runtime
