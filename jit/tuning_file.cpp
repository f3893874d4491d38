#include "jit/tuning_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "jit/cpu_detect.h"

#if defined(SHERRY_X86_64)
#include <cpu_features/cpuinfo_x86.h>
#elif defined(__aarch64__)
#include <cpu_features/cpuinfo_aarch64.h>
#endif

namespace sherry::jit {
namespace {

using nlohmann::json;

std::mutex active_mutex;
bool active_loaded = false;
std::shared_ptr<const TuningFile> active;

// A field of `object` with the expected JSON type, or an error naming it.
Result<const json*> field(const json& object, const char* name, json::value_t type,
                          const std::string& where) {
  const auto it = object.find(name);
  if (it == object.end()) return make_error("{}: missing field \"{}\"", where, name);
  const bool number_ok = (type == json::value_t::number_integer &&
                          (it->is_number_integer() || it->is_number_unsigned())) ||
                         (type == json::value_t::number_float && it->is_number());
  if (it->type() != type && !number_ok) {
    return make_error("{}: field \"{}\" must be {}, found {}", where, name, json(type).type_name(),
                      it->type_name());
  }
  return &*it;
}

Result<int64_t> int_field(const json& object, const char* name, int64_t lo, int64_t hi,
                          const std::string& where) {
  Result<const json*> f = field(object, name, json::value_t::number_integer, where);
  if (!f.ok()) return f.error();
  const int64_t value = (*f)->get<int64_t>();
  if (value < lo || value > hi) {
    return make_error("{}: field \"{}\" must be in [{}, {}], found {}", where, name, lo, hi, value);
  }
  return value;
}

Result<CpuSignature> parse_cpu(const json& cpu, const std::string& where) {
  CpuSignature s;
  Result<const json*> vendor = field(cpu, "vendor", json::value_t::string, where);
  if (!vendor.ok()) return vendor.error();
  s.vendor = (*vendor)->get<std::string>();
  Result<int64_t> family = int_field(cpu, "family", 0, 1 << 20, where);
  if (!family.ok()) return family.error();
  Result<int64_t> model = int_field(cpu, "model", 0, 1 << 20, where);
  if (!model.ok()) return model.error();
  s.family = static_cast<int>(*family);
  s.model = static_cast<int>(*model);
  Result<const json*> features = field(cpu, "features", json::value_t::array, where);
  if (!features.ok()) return features.error();
  for (const json& f : **features) {
    if (!f.is_string()) {
      return make_error("{}: \"features\" must hold strings, found {}", where, f.type_name());
    }
    s.features.push_back(f.get<std::string>());
  }
  return s;
}

Result<TuningEntry> parse_entry(const json& e, const std::string& where) {
  if (!e.is_object()) return make_error("{}: expected an object, found {}", where, e.type_name());
  TuningEntry entry;
  Result<const json*> key = field(e, "key", json::value_t::string, where);
  if (!key.ok()) return key.error();
  entry.key = (*key)->get<std::string>();
  if (entry.key.empty()) return make_error("{}: field \"key\" must not be empty", where);
  Result<int64_t> row_tile = int_field(e, "row_tile", 0, 4096, where);
  if (!row_tile.ok()) return row_tile.error();
  Result<int64_t> prefetch = int_field(e, "prefetch", 0, 1 << 20, where);
  if (!prefetch.ok()) return prefetch.error();
  Result<int64_t> threads = int_field(e, "threads", 1, 4096, where);
  if (!threads.ok()) return threads.error();
  entry.tuning = {*row_tile, *prefetch};
  entry.threads = static_cast<int>(*threads);
  if (e.contains("kernel") && e["kernel"].is_string())
    entry.kernel = e["kernel"].get<std::string>();
  if (e.contains("regime") && e["regime"].is_string())
    entry.regime = e["regime"].get<std::string>();
  if (e.contains("default_us") && e["default_us"].is_number()) {
    entry.default_us = e["default_us"].get<double>();
  }
  if (e.contains("tuned_us") && e["tuned_us"].is_number())
    entry.tuned_us = e["tuned_us"].get<double>();
  return entry;
}

void warn_stderr(const std::string& message) {
  std::fprintf(stderr, "sherry: warning: %s\n", message.c_str());
}

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace

CpuSignature host_signature() {
  CpuSignature s;
#if defined(SHERRY_X86_64)
  const cpu_features::X86Info x86 = cpu_features::GetX86Info();
  s.vendor = x86.vendor;
  s.family = x86.family;
  s.model = x86.model;
#elif defined(__aarch64__)
  const cpu_features::Aarch64Info arm = cpu_features::GetAarch64Info();
  s.vendor = "arm";
  s.family = arm.implementer;
  s.model = arm.part;
#else
  s.vendor = "unknown";
#endif
  const CpuInfo& cpu = host_cpu();
  for (int bit = 0; bit < 32; ++bit) {
    if ((cpu.features >> bit) & 1) {
      s.features.emplace_back(to_string(static_cast<CpuFeature>(bit)));
    }
  }
  return s;
}

std::string to_string(const CpuSignature& cpu) {
  return fmt::format("{} family {} model {} [{}]", cpu.vendor, cpu.family, cpu.model,
                     fmt::join(cpu.features, " "));
}

const TuningEntry* TuningFile::find(std::string_view key, int threads) const {
  for (const TuningEntry& e : entries) {
    if (e.key == key && e.threads == threads) return &e;
  }
  return nullptr;
}

void TuningFile::upsert(TuningEntry entry) {
  for (TuningEntry& e : entries) {
    if (e.key == entry.key && e.threads == entry.threads) {
      e = std::move(entry);
      return;
    }
  }
  entries.push_back(std::move(entry));
}

std::string tuning_key_name(const ir::KernelKey& key) {
  ir::KernelKey base = key;
  base.op = ir::KernelOp::kGemv;
  base.n_tile = 1;
  base.output = ir::OutputMode::kFloat;
  base.tuning = {};
  return ir::kernel_name(base);
}

Result<TuningFile> parse_tuning_file(std::string_view text, const std::string& path,
                                     const CpuSignature& host) {
  const json root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return make_error("tuning file {}: corrupt: not valid JSON", path);
  if (!root.is_object()) {
    return make_error("tuning file {}: corrupt: expected a JSON object, found {}", path,
                      root.type_name());
  }
  const std::string where = "tuning file " + path;
  Result<const json*> format = field(root, "format", json::value_t::string, where);
  if (!format.ok()) return format.error().with_context("corrupt");
  if ((*format)->get<std::string>() != kTuningFormat) {
    return make_error("tuning file {}: expected format \"{}\", found \"{}\"", path, kTuningFormat,
                      (*format)->get<std::string>());
  }
  Result<int64_t> version = int_field(root, "version", 0, 1 << 30, where);
  if (!version.ok()) return version.error();
  if (*version != kTuningFormatVersion) {
    return make_error("tuning file {}: stale: format version {}, this build reads {}", path,
                      *version, kTuningFormatVersion);
  }
  Result<int64_t> generation = int_field(root, "generation", 0, 1 << 30, where);
  if (!generation.ok()) return generation.error();
  if (*generation != kTuningJitGeneration) {
    return make_error("tuning file {}: stale: written for JIT generation {}, this build is {}",
                      path, *generation, kTuningJitGeneration);
  }
  Result<const json*> cpu = field(root, "cpu", json::value_t::object, where);
  if (!cpu.ok()) return cpu.error();
  Result<CpuSignature> signature = parse_cpu(**cpu, where + " cpu");
  if (!signature.ok()) return signature.error();
  if (!(*signature == host)) {
    return make_error("tuning file {}: foreign: written for {}, this CPU is {}", path,
                      to_string(*signature), to_string(host));
  }
  Result<const json*> kernels = field(root, "kernels", json::value_t::array, where);
  if (!kernels.ok()) return kernels.error();
  TuningFile file;
  file.cpu = *signature;
  for (size_t i = 0; i < (*kernels)->size(); ++i) {
    Result<TuningEntry> entry =
        parse_entry((**kernels)[i], fmt::format("{} kernels[{}]", where, i));
    if (!entry.ok()) return entry.error();
    file.upsert(std::move(*entry));
  }
  return file;
}

Result<TuningFile> read_tuning_file(const std::string& path, const CpuSignature& host) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("tuning file {}: cannot open: {}", path, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_tuning_file(text.str(), path, host);
}

std::string serialize_tuning_file(const TuningFile& file) {
  json root;
  root["format"] = kTuningFormat;
  root["version"] = kTuningFormatVersion;
  root["generation"] = kTuningJitGeneration;
  root["cpu"] = {{"vendor", file.cpu.vendor},
                 {"family", file.cpu.family},
                 {"model", file.cpu.model},
                 {"features", file.cpu.features}};
  json kernels = json::array();
  for (const TuningEntry& e : file.entries) {
    kernels.push_back({{"key", e.key},
                       {"row_tile", e.tuning.row_tile},
                       {"prefetch", e.tuning.prefetch},
                       {"kernel", e.kernel},
                       {"threads", e.threads},
                       {"regime", e.regime},
                       {"default_us", e.default_us},
                       {"tuned_us", e.tuned_us}});
  }
  root["kernels"] = std::move(kernels);
  return root.dump(2) + "\n";
}

Status write_tuning_file(const std::string& path, const TuningFile& file) {
  // mkdir -p of the folder.
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return make_error("tuning file {}: cannot create folder {}: {}", path, dir,
                        std::strerror(errno));
    }
  }
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      return make_error("tuning file {}: cannot write {}: {}", path, tmp, std::strerror(errno));
    out << serialize_tuning_file(file);
    if (!out.flush()) {
      return make_error("tuning file {}: cannot write {}: {}", path, tmp, std::strerror(errno));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return make_error("tuning file {}: cannot rename {} onto it: {}", path, tmp, why);
  }
  return Status::success();
}

std::optional<std::string> default_tuning_file_path() {
  if (const auto explicit_path = env("SHERRY_TUNING_FILE")) {
    if (explicit_path->empty() || *explicit_path == "none") return std::nullopt;
    return *explicit_path;
  }
  if (const auto xdg = env("XDG_CACHE_HOME"); xdg && !xdg->empty()) {
    return *xdg + "/sherry/tuning.json";
  }
  if (const auto home = env("HOME"); home && !home->empty()) {
    return *home + "/.cache/sherry/tuning.json";
  }
  return std::nullopt;
}

void reload_active_tuning(const TuningWarning& warn) {
  std::shared_ptr<const TuningFile> loaded;
  if (const std::optional<std::string> path = default_tuning_file_path()) {
    struct stat st;
    if (::stat(path->c_str(), &st) == 0) {
      Result<TuningFile> file = read_tuning_file(*path, host_signature());
      if (file.ok()) {
        loaded = std::make_shared<const TuningFile>(std::move(*file));
      } else {
        (warn ? warn : TuningWarning(warn_stderr))(file.error().message() +
                                                   "; ignored, the kernels use their defaults");
      }
    }
  }
  std::lock_guard lock(active_mutex);
  active = std::move(loaded);
  active_loaded = true;
}

std::shared_ptr<const TuningFile> active_tuning() {
  {
    std::lock_guard lock(active_mutex);
    if (active_loaded) return active;
  }
  static std::once_flag once;
  std::call_once(once, [] {
    bool loaded;
    {
      std::lock_guard lock(active_mutex);
      loaded = active_loaded;
    }
    if (!loaded) reload_active_tuning();
  });
  std::lock_guard lock(active_mutex);
  return active;
}

void set_active_tuning(std::optional<TuningFile> file) {
  std::lock_guard lock(active_mutex);
  active = file ? std::make_shared<const TuningFile>(std::move(*file)) : nullptr;
  active_loaded = true;
}

std::optional<ir::KernelKey> tuned_key(const ir::KernelKey& key, int threads) {
  if (!(key.tuning == ir::Tuning{})) return std::nullopt;
  const std::shared_ptr<const TuningFile> file = active_tuning();
  if (!file) return std::nullopt;
  const TuningEntry* entry = file->find(tuning_key_name(key), threads);
  if (entry == nullptr || entry->tuning == ir::Tuning{}) return std::nullopt;
  ir::KernelKey tuned = key;
  tuned.tuning = entry->tuning;
  return tuned;
}

}  // namespace sherry::jit
