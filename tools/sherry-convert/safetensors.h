// Reading safetensors checkpoints (Hugging Face's weight files): one file or the shards that
// model.safetensors.index.json lists, mmapped and validated before anything is handed out, with
// the GGUF reader's discipline (docs/convert.md §Validation lists every check): the 8-byte header
// length against the file, the header JSON (objects, unique keys, known fields), each tensor's
// dtype, shape × dtype = its byte range, the ranges inside the data and covering it without gaps
// or overlaps (the format's rule), and in a sharded checkpoint every tensor in the shard the index
// names and in no other.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"

namespace sherry::hf {

// Every dtype of the safetensors format (its Rust crate's Dtype).
enum class Dtype : uint8_t {
  kBool,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kF64,
  kI64,
  kU64,
};
std::string_view to_string(Dtype dtype);  // "F16", ...
int64_t dtype_bytes(Dtype dtype);

// Largest header accepted, as the format's reference reader (100 MB).
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;
// Dimensions accepted per tensor.
inline constexpr size_t kMaxSafetensorsDims = 8;

struct SafetensorsTensor {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;         // PyTorch order: shape[0] outermost (rows of a weight)
  std::span<const uint8_t> data;      // into the mapping
  const std::string* file = nullptr;  // the file it lies in (owned by its SafetensorsFile)

  int64_t element_count() const;
};

class SafetensorsFile {
 public:
  // Maps and validates one file. Errors name the file, the object (header, tensor 'x', key
  // '__metadata__'), what was expected and what was found.
  static Result<std::unique_ptr<SafetensorsFile>> open(const std::string& path);
  // The same checks over bytes in memory (the fuzzer's entry point); `bytes` must outlive it.
  static Result<std::unique_ptr<SafetensorsFile>> parse(std::span<const uint8_t> bytes,
                                                        std::string name);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  // In data order.
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* find(std::string_view name) const;
  // The header's "__metadata__" (string → string), empty when absent.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
  MappedFile mapping_;  // open's; the tensors' data points into it
};

// model.safetensors.index.json: tensor name → shard file name. Errors name `source`: bad JSON, no
// "weight_map" object, a value that is not a plain file name in the same folder (no '/', not "."
// or "..").
Result<std::map<std::string, std::string>> parse_safetensors_index(std::string_view json,
                                                                   const std::string& source);

// A checkpoint folder's weights: model.safetensors, or the shards of
// model.safetensors.index.json (each opened once, every tensor checked against the index).
class Checkpoint {
 public:
  // Errors: no model.safetensors nor index in `dir`, a shard missing, a tensor the index lists
  // missing from its shard, a tensor in a shard the index does not list there, a name in two
  // shards, and every error of SafetensorsFile::open.
  static Result<Checkpoint> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  // Sorted by name.
  const std::vector<const SafetensorsTensor*>& tensors() const { return tensors_; }
  const SafetensorsTensor* find(std::string_view name) const;
  // The files read, in the order opened.
  std::vector<std::string> files() const;

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<const SafetensorsTensor*> tensors_;
  std::map<std::string, const SafetensorsTensor*, std::less<>> index_;
};

// An F32, F16 or BF16 tensor's values as floats (its element order). Error: another dtype.
Result<std::vector<float>> read_floats(const SafetensorsTensor& tensor);

}  // namespace sherry::hf
