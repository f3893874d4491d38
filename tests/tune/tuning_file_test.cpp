#include "jit/tuning_file.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "jit/kernel_build.h"
#include "jit/linear.h"
#include "tests/jit/jit_test_util.h"

namespace sherry::jit {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A scratch folder and SHERRY_TUNING_FILE pointing into it for one test; restores both after.
class TuningSandbox {
 public:
  TuningSandbox() {
    dir_ = fmt::format("{}/sherry_tune_test_{}", std::filesystem::temp_directory_path().string(),
                       ::getpid());
    std::filesystem::create_directories(dir_);
    path_ = dir_ + "/nested/tuning.json";
    ::setenv("SHERRY_TUNING_FILE", path_.c_str(), 1);
  }
  ~TuningSandbox() {
    ::unsetenv("SHERRY_TUNING_FILE");
    std::filesystem::remove_all(dir_);
    set_active_tuning(std::nullopt);
  }
  const std::string& path() const { return path_; }
  void write(const std::string& text) const {
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
    std::ofstream(path_) << text;
  }
  // Reloads and returns the warnings printed.
  std::vector<std::string> reload() const {
    std::vector<std::string> warnings;
    reload_active_tuning([&](const std::string& w) { warnings.push_back(w); });
    return warnings;
  }

 private:
  std::string dir_;
  std::string path_;
};

ir::KernelKey sample_key(ir::Isa isa) {
  ir::KernelKey key;
  key.isa = isa;
  key.m = 96;
  key.k = 256;
  return key;
}

TuningFile sample_file();

// The sample file's text with a stale format version.
std::string replace_version(std::string text) {
  const size_t at = text.find("\"version\": 1");
  return text.replace(at, 13, "\"version\": 2");
}

TuningFile sample_file() {
  TuningFile file;
  file.cpu = host_signature();
  TuningEntry e;
  e.key = "lutgemv_s125g128c_i16__avx2_m2048_k2048_t0";
  e.tuning = {64, 512};
  e.kernel = "lutgemv_s125g128c_i16__avx2_m2048_k2048_t64_p512";
  e.threads = 2;
  e.regime = "cold";
  e.default_us = 100.5;
  e.tuned_us = 90.25;
  file.entries.push_back(e);
  return file;
}

TEST_CASE("a tuning file round trips through its JSON text") {
  const TuningFile file = sample_file();
  const std::string text = serialize_tuning_file(file);
  CHECK(contains(text, "\"format\": \"sherry-tuning\""));
  const TuningFile back = parse_tuning_file(text, "t.json", host_signature()).value();
  CHECK(back.cpu == file.cpu);
  REQUIRE(back.entries.size() == 1);
  const TuningEntry& e = back.entries[0];
  CHECK(e.key == file.entries[0].key);
  CHECK(e.tuning == ir::Tuning{64, 512});
  CHECK(e.threads == 2);
  CHECK(e.regime == "cold");
  CHECK(e.default_us == 100.5);
  CHECK(e.tuned_us == 90.25);
  CHECK(back.find(e.key, e.threads) != nullptr);
  CHECK(back.find(e.key, e.threads + 1) == nullptr);
  CHECK(back.find("other", e.threads) == nullptr);
}

TEST_CASE("the tuning key of a layer ignores tuning and op and tokens") {
  ir::KernelKey a = sample_key(ir::Isa::kAvx2);
  ir::KernelKey b = a;
  b.op = ir::KernelOp::kGemm;
  b.n_tile = 4;
  b.tuning = {64, 128};
  b.output = ir::OutputMode::kAccumulators;
  CHECK(tuning_key_name(a) == tuning_key_name(b));
  b.m = 97;
  CHECK(tuning_key_name(a) != tuning_key_name(b));
}

TEST_CASE("stale foreign and corrupt tuning files are refused with the reason") {
  const CpuSignature host = host_signature();
  TuningFile file = sample_file();
  const std::string good = serialize_tuning_file(file);
  auto refuse = [&](const std::string& text, const std::string& expected) {
    Result<TuningFile> r = parse_tuning_file(text, "/x/tuning.json", host);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message());
    CHECK(contains(r.error().message(), "tuning file /x/tuning.json"));
    CHECK(contains(r.error().message(), expected));
  };
  refuse("{not json", "corrupt: not valid JSON");
  refuse("[1, 2]", "corrupt: expected a JSON object, found array");
  refuse("{}", "missing field \"format\"");
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
  };
  refuse(replaced("\"sherry-tuning\"", "\"other\""),
         "expected format \"sherry-tuning\", found \"other\"");
  refuse(replaced("\"version\": 1", "\"version\": 7"),
         "stale: format version 7, this build reads 1");
  refuse(replaced("\"generation\": 1", "\"generation\": 0"),
         "stale: written for JIT generation 0, this build is 1");
  refuse(replaced("\"row_tile\": 64", "\"row_tile\": \"64\""),
         "kernels[0]: field \"row_tile\" must be number, found string");
  refuse(replaced("\"prefetch\": 512", "\"prefetch\": -1"),
         "kernels[0]: field \"prefetch\" must be in [0, 1048576], found -1");
  refuse(replaced("\"key\": \"lutgemv", "\"keyx\": \"lutgemv"),
         "kernels[0]: missing field \"key\"");
  refuse(replaced("\"kernels\": [", "\"kernels\": [3, "),
         "kernels[0]: expected an object, found number");
  TuningFile foreign = file;
  foreign.cpu.model += 1;
  refuse(serialize_tuning_file(foreign),
         fmt::format("foreign: written for {}", to_string(foreign.cpu)));
  foreign = file;
  foreign.cpu.features.push_back("avx10");
  refuse(serialize_tuning_file(foreign), "foreign");
}

TEST_CASE("a bad tuning file on disk is ignored with exactly one warning") {
  TuningSandbox sandbox;
  CHECK(default_tuning_file_path() == sandbox.path());
  // Missing: silent.
  CHECK(sandbox.reload().empty());
  CHECK(active_tuning() == nullptr);
  for (const std::string& text :
       {std::string("{\"format\": \"sherry-tuning\""), std::string("\x01\x02\xff"),
        replace_version(serialize_tuning_file(sample_file()))}) {
    sandbox.write(text);
    const std::vector<std::string> warnings = sandbox.reload();
    REQUIRE(warnings.size() == 1);
    CHECK(contains(warnings[0], sandbox.path()));
    CHECK(contains(warnings[0], "ignored, the kernels use their defaults"));
    CHECK(active_tuning() == nullptr);
  }
  sandbox.write(serialize_tuning_file(sample_file()));
  CHECK(sandbox.reload().empty());
  REQUIRE(active_tuning() != nullptr);
  CHECK(active_tuning()->entries.size() == 1);
}

TEST_CASE("the tuning file place follows the environment") {
  ::setenv("SHERRY_TUNING_FILE", "none", 1);
  CHECK_FALSE(default_tuning_file_path().has_value());
  ::setenv("SHERRY_TUNING_FILE", "", 1);
  CHECK_FALSE(default_tuning_file_path().has_value());
  ::unsetenv("SHERRY_TUNING_FILE");
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const std::string saved = xdg ? xdg : "";
  ::setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  CHECK(default_tuning_file_path() == std::string("/tmp/xdg/sherry/tuning.json"));
  ::unsetenv("XDG_CACHE_HOME");
  if (const char* home = std::getenv("HOME")) {
    CHECK(default_tuning_file_path() == std::string(home) + "/.cache/sherry/tuning.json");
  }
  if (xdg) ::setenv("XDG_CACHE_HOME", saved.c_str(), 1);
}

TEST_CASE("writing a tuning file creates its folder and replaces it atomically") {
  TuningSandbox sandbox;
  TuningFile file = sample_file();
  REQUIRE(write_tuning_file(sandbox.path(), file).ok());
  file.entries[0].tuning.prefetch = 1024;
  REQUIRE(write_tuning_file(sandbox.path(), file).ok());
  const TuningFile back = read_tuning_file(sandbox.path(), host_signature()).value();
  CHECK(back.entries[0].tuning.prefetch == 1024);
  Status bad = write_tuning_file("/proc/no/such/tuning.json", file);
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.error().message(), "tuning file /proc/no/such/tuning.json: cannot"));
  Result<TuningFile> missing = read_tuning_file(sandbox.path() + ".none", host_signature());
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error().message(), "cannot open"));
}

TEST_CASE("kernel keys asking for defaults take the tuning file entry when it resolves") {
  const std::vector<ir::Isa> isas = test::runnable_isas();
  if (isas.empty()) return;
  const ir::Isa isa = isas.front();
  const ir::KernelKey key = sample_key(isa);
  set_active_tuning(std::nullopt);
  const ir::KernelKey plain = resolve_kernel_key(key).value();
  TuningFile file;
  file.cpu = host_signature();
  TuningEntry entry;
  entry.key = tuning_key_name(key);
  entry.tuning = {plain.tuning.row_tile, 768};
  file.entries.push_back(entry);
  set_active_tuning(file);
  const ir::KernelKey tuned = resolve_kernel_key(key).value();
  CHECK(tuned.tuning == ir::Tuning{plain.tuning.row_tile, 768});
  // An explicit tuning wins over the file.
  ir::KernelKey explicit_key = key;
  explicit_key.tuning.prefetch = 64;
  CHECK(resolve_kernel_key(explicit_key).value().tuning.prefetch == 64);
  // A layer built by make_linear names the tuned kernel.
  const PackedTensor w = sherry::test::random_packed(96, 256, {}, 3);
  LinearOptions options;
  options.max_tokens = 1;
  auto linear = make_linear(w.view(), options).value();
  if (linear->kernel_name().find(ir::to_string(isa)) != std::string::npos) {
    CHECK(contains(linear->kernel_name(), "_p768"));
  }
  // The entry was timed at one thread: a layer on two threads keeps the defaults, and takes an
  // entry timed at two.
  ThreadPool two(2);
  options.pool = &two;
  CHECK_FALSE(contains(make_linear(w.view(), options).value()->kernel_name(), "_p768"));
  CHECK(resolve_kernel_key(key, 2).value().tuning == plain.tuning);
  TuningEntry at_two = entry;
  at_two.threads = 2;
  at_two.tuning = {plain.tuning.row_tile, 512};
  file.upsert(at_two);
  CHECK(file.entries.size() == 2);
  set_active_tuning(file);
  CHECK(resolve_kernel_key(key, 2).value().tuning == ir::Tuning{plain.tuning.row_tile, 512});
  CHECK(resolve_kernel_key(key, 1).value().tuning == ir::Tuning{plain.tuning.row_tile, 768});
  file.entries.pop_back();
  options.pool = nullptr;
  // An entry that no longer resolves (row tile 7) falls back to the defaults.
  file.entries[0].tuning = {7, 0};
  set_active_tuning(file);
  CHECK(resolve_kernel_key(key).value().tuning == plain.tuning);
  set_active_tuning(std::nullopt);
}

}  // namespace
}  // namespace sherry::jit
