// Writing GGUF v3 files atomically (docs/gguf.md §1 has the layout).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "runtime/gguf/gguf_types.h"
#include "runtime/gguf/gguf_value.h"

namespace sherry::gguf {

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
