// The tuning file: per CPU, the tuning sherry-tune chose for each layer's kernel key. JSON,
// versioned, keyed by the CPU signature (vendor, family, model, features) and by the kernel key
// without its tuning (tuning_key_name). docs/cli.md §sherry-tune documents the format.
//
// Where: $SHERRY_TUNING_FILE when set ("" or "none": no file), else
// $XDG_CACHE_HOME/sherry/tuning.json, else $HOME/.cache/sherry/tuning.json.
// Loaded once, on the first kernel key resolved (resolve_kernel_key consults tuned_key), so the
// runtime, sherry-run and sherry-asm use it without asking. A missing file is silent; a stale
// (other format version or JIT generation), foreign (other CPU) or corrupt one is ignored with one
// warning on stderr, never a crash.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "ir/kernel_key.h"

namespace sherry::jit {

inline constexpr std::string_view kTuningFormat = "sherry-tuning";
inline constexpr int kTuningFormatVersion = 1;
// Bumped whenever the meaning of ir::Tuning or of the kernel keys changes: older files are stale.
inline constexpr int kTuningJitGeneration = 1;

struct CpuSignature {
  std::string vendor;                 // "AuthenticAMD", "GenuineIntel", "arm"
  int family = 0;                     // x86 family; AArch64: implementer
  int model = 0;                      // x86 model; AArch64: part
  std::vector<std::string> features;  // jit/cpu_detect.h feature names present, in enum order

  bool operator==(const CpuSignature&) const = default;
};
CpuSignature host_signature();
std::string to_string(const CpuSignature& cpu);

struct TuningEntry {
  std::string key;     // tuning_key_name of the layer's key
  ir::Tuning tuning;   // what resolve_kernel_key fills in
  std::string kernel;  // the tuned GEMV kernel's name (informative)
  int threads = 1;     // threads and regime it was timed with
  std::string regime = "cold";
  double default_us = 0.0;  // median µs of the default and of the tuned kernel
  double tuned_us = 0.0;
};

struct TuningFile {
  CpuSignature cpu;
  std::vector<TuningEntry> entries;

  // The entry of a key timed at this many threads: a winner at two threads is not applied at
  // one, where it can be slower.
  const TuningEntry* find(std::string_view key, int threads) const;
  void upsert(TuningEntry entry);  // replaces the entry of the same key and threads
};

// The layer's key with its tuning cleared, op GEMV, one token, float output: what one tuning
// serves (the GEMV and GEMM kernels of a layer share one row tile).
std::string tuning_key_name(const ir::KernelKey& key);

// Errors (each naming `path`): not JSON, a missing or mistyped field, a value out of range,
// another format or version ("stale"), another JIT generation ("stale"), another CPU ("foreign").
Result<TuningFile> parse_tuning_file(std::string_view text, const std::string& path,
                                     const CpuSignature& host);
// Errors: parse_tuning_file's, and an unreadable file.
Result<TuningFile> read_tuning_file(const std::string& path, const CpuSignature& host);
std::string serialize_tuning_file(const TuningFile& file);
// Writes atomically (temporary file, rename), creating the folder. Errors name the path.
Status write_tuning_file(const std::string& path, const TuningFile& file);

// The documented place (see above); nullopt when disabled or no home is known.
std::optional<std::string> default_tuning_file_path();

using TuningWarning = std::function<void(const std::string&)>;
// The active tuning (loaded on first use); nullptr when none.
std::shared_ptr<const TuningFile> active_tuning();
// Reads the documented place again; `warn` gets the one warning (default: stderr).
void reload_active_tuning(const TuningWarning& warn = {});
// Tools and tests: replace the active tuning (nullopt: none) without reading any file.
void set_active_tuning(std::optional<TuningFile> file);

// The key with the active tuning's entry for `threads` applied, when the key asks for the
// defaults (tuning == {}) and such an entry exists; nullopt otherwise.
std::optional<ir::KernelKey> tuned_key(const ir::KernelKey& key, int threads);

}  // namespace sherry::jit
