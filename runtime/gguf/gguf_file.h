// Reading GGUF v3 files (mmapped, validated before anything is handed out) and writing them.
// docs/gguf.md lists every check and the metadata keys sherry reads and writes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.h"
#include "runtime/gguf/gguf_types.h"

namespace sherry::gguf {

// A metadata value. Arrays hold one element type.
struct Value;
using Array = std::vector<Value>;
struct Value {
  ValueType type = ValueType::kUint8;
  std::variant<uint64_t, int64_t, double, bool, std::string, Array> data;
  ValueType array_type = ValueType::kUint8;  // for kArray

  // Typed accessors; nullopt / error when the type does not fit (integers convert when in range).
  std::optional<int64_t> as_int() const;
  std::optional<double> as_float() const;
  const std::string* as_string() const;
  const Array* as_array() const;

  bool operator==(const Value&) const = default;
};

// Value makers: integers are range-checked against the type (internal check).
Value make_uint(ValueType type, uint64_t value);  // kUint8, kUint16, kUint32, kUint64
Value make_int(ValueType type, int64_t value);    // kInt8, kInt16, kInt32, kInt64
Value make_float(ValueType type, double value);   // kFloat32, kFloat64
Value make_bool(bool value);
Value make_string(std::string value);
Value make_array(ValueType element_type, Array elements);  // every element of element_type

// Deepest array nesting accepted (an array of arrays of scalars is depth 2).
inline constexpr int kMaxArrayDepth = 3;
// Array elements accepted over all the metadata: 10× the largest real vocabulary's tokens,
// scores, types and merges together.
inline constexpr uint64_t kMaxMetadataElements = uint64_t{1} << 23;
// Tensor dimensions accepted (ggml's GGML_MAX_DIMS).
inline constexpr uint32_t kMaxDims = 4;

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
  Reader() = default;
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kDefaultAlignment;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
};

// Collects metadata and tensors, then writes a GGUF v3 file atomically (temporary file, fsync,
// rename). Tensor data is copied at add time.
class Writer {
 public:
  // Sets a key; setting an existing key replaces its value in place (order kept).
  void set(std::string key, Value value);
  const Value* find(std::string_view key) const;
  bool has_tensor(std::string_view name) const;
  void set_string(std::string key, std::string value);
  void set_uint32(std::string key, uint32_t value);
  void set_int32(std::string key, int32_t value);
  void set_float32(std::string key, float value);
  void set_bool(std::string key, bool value);
  void set_string_array(std::string key, const std::vector<std::string>& values);
  void set_float32_array(std::string key, const std::vector<float>& values);
  void set_int32_array(std::string key, const std::vector<int32_t>& values);

  // bytes must be exactly the size the type and shape imply, the name new (internal checks).
  void add_tensor(std::string name, TensorType type, std::vector<int64_t> shape,
                  std::span<const uint8_t> bytes);

  Status write(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    TensorType type;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace sherry::gguf
