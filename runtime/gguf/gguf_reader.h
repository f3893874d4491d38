// Reading GGUF v3 files (mmapped, validated before anything is handed out). docs/gguf.md §5 lists
// every check.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
#include "runtime/gguf/gguf_types.h"
#include "runtime/gguf/gguf_value.h"

namespace sherry::gguf {

// Deepest array nesting accepted (an array of arrays of scalars is depth 2).
inline constexpr int kMaxArrayDepth = 3;
// Array elements accepted over all the metadata: 10× the largest real vocabulary's tokens,
// scores, types and merges together.
inline constexpr uint64_t kMaxMetadataElements = uint64_t{1} << 23;

struct TensorInfo {
  std::string name;
  TensorType type;
  std::vector<int64_t> shape;  // ggml order: shape[0] is the contiguous (innermost) dimension
  uint64_t offset = 0;         // relative to the data section
  uint64_t byte_size = 0;
  const uint8_t* data = nullptr;  // into the mapping (reader only)

  int64_t element_count() const;
};

class Reader {
 public:
  // Maps and validates the whole file. Every error names the file, the object (key, tensor,
  // section), what was expected and what was found.
  static Result<std::unique_ptr<Reader>> open(const std::string& path);
  // Same checks over bytes in memory (the fuzzer's entry point). `data` must outlive the Reader.
  static Result<std::unique_ptr<Reader>> parse(std::span<const uint8_t> data, std::string name);
  ~Reader();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }

  const Value* find(std::string_view key) const;
  const TensorInfo* find_tensor(std::string_view name) const;

  // Typed look-ups with errors that name the file and the key.
  Result<std::string> get_string(std::string_view key) const;
  Result<int64_t> get_int(std::string_view key) const;
  Result<double> get_float(std::string_view key) const;
  Result<std::vector<std::string>> get_string_array(std::string_view key) const;
  Result<std::vector<double>> get_float_array(std::string_view key) const;
  Result<std::vector<int64_t>> get_int_array(std::string_view key) const;
  // A tensor that must exist with this shape (ggml order) and one of `types` (any type when
  // empty); the error names the tensor, the expectation and what was found.
  Result<const TensorInfo*> require_tensor(std::string_view name, std::vector<int64_t> shape,
                                           std::vector<TensorType> types = {}) const;

 private:
  friend class ReaderParser;  // the steps of parse (gguf_reader.cpp)
  Reader() = default;
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kDefaultAlignment;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
  MappedFile mapping_;  // open's; the tensors' data points into it
};

}  // namespace sherry::gguf
