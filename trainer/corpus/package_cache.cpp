#include "trainer/corpus/package_cache.h"

#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <vector>

extern char** environ;

namespace sherry::corpus {
namespace {

namespace fs = std::filesystem;

// Runs a program (no shell) in `dir`, stdout/stderr inherited; its exit status or -1.
int run_program(const std::vector<std::string>& argv, const std::string& dir) {
  std::vector<std::string> full = {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", dir};
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (auto& arg : full) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, args.data(), environ) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// "<package>_<version>_<arch>.deb" files in debs/, newest name last.
std::vector<fs::path> cached_debs(const fs::path& debs, const std::string& package) {
  std::vector<fs::path> found;
  std::error_code ignored;
  if (!fs::is_directory(debs, ignored)) return found;
  for (const auto& entry : fs::directory_iterator(debs, ignored)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(package + "_") && name.ends_with(".deb")) found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string fetch_hint(const fs::path& debs, const std::string& package) {
  return fmt::format(
      "fetch it with `mkdir -p {0} && cd {0} && apt-get download {1}` "
      "(needs Debian's package lists: apt-get update), or run scripts/build_corpus.sh",
      debs.string(), package);
}

}  // namespace

Result<FetchedPackage> ensure_package(const std::string& cache_dir, const std::string& package,
                                      bool fetch) {
  const fs::path debs = fs::path(cache_dir) / "debs";
  std::vector<fs::path> found = cached_debs(debs, package);
  if (found.empty() && fetch) {
    std::error_code error;
    fs::create_directories(debs, error);
    if (error)
      return make_error("{}: cannot create the package cache folder: {}", debs.string(),
                        error.message());
    const int status = run_program({"apt-get", "download", "-q", package}, debs.string());
    found = cached_debs(debs, package);
    if (found.empty())
      return make_error("{}: `apt-get download {}` failed (exit status {}); {}", package, package,
                        status, fetch_hint(debs, package));
  }
  if (found.empty())
    return make_error("{}: expected {}/{}_*.deb in the package cache, found none; {}", package,
                      debs.string(), package, fetch_hint(debs, package));
  FetchedPackage result;
  result.name = package;
  result.deb_path = found.back().string();
  const std::string file = found.back().filename().string();
  const size_t version_begin = package.size() + 1;
  const size_t version_end = file.find('_', version_begin);
  result.version =
      file.substr(version_begin, version_end == std::string::npos ? std::string::npos
                                                                  : version_end - version_begin);
  // Extract into x/<package>; a stamp file naming the .deb marks a complete extraction.
  const fs::path root = fs::path(cache_dir) / "x" / package;
  const fs::path stamp = root / ".extracted-from";
  result.root = root.string();
  std::error_code error;
  if (fs::exists(stamp, error)) {
    FILE* in = std::fopen(stamp.c_str(), "r");
    char buffer[512] = {};
    const size_t got = in ? std::fread(buffer, 1, sizeof(buffer) - 1, in) : 0;
    if (in) std::fclose(in);
    if (std::string(buffer, got) == file) return result;
  }
  fs::remove_all(root, error);
  fs::create_directories(root, error);
  if (error)
    return make_error("{}: cannot create the extraction folder: {}", root.string(),
                      error.message());
  const int status =
      run_program({"dpkg", "-x", fs::absolute(found.back()).string(), "."}, root.string());
  if (status != 0)
    return make_error(
        "{}: `dpkg -x` failed with exit status {} (is the .deb complete? delete it "
        "to fetch it again)",
        result.deb_path, status);
  FILE* out = std::fopen(stamp.c_str(), "w");
  if (out == nullptr) return make_error("{}: cannot write the extraction stamp", stamp.string());
  std::fputs(file.c_str(), out);
  std::fclose(out);
  return result;
}

}  // namespace sherry::corpus
