// GGUF value types and the tensor type table (llama.cpp's ggml type ids, plus sherry's own).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sherry::gguf {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
inline constexpr uint32_t kVersion = 3;
inline constexpr uint64_t kDefaultAlignment = 32;
// Tensor dimensions accepted (ggml's GGML_MAX_DIMS).
inline constexpr uint32_t kMaxDims = 4;

enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// Tensor type ids as stored in the file. The list is the known set: any other id is rejected.
enum class TensorType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kSTQ1_0_Released = 42,  // STQ1_0 as the released files number it
  kSTQ1_0 = 43,           // STQ1_0 in newer llama.cpp
  // sherry's packed 5-bit codes (docs/format.md §2): 32 weights per 5-byte block, scales in a
  // companion F16 tensor "<name minus .weight>.scale".
  kSherry = 1250,
};

struct TensorTypeTraits {
  std::string_view name;
  int64_t block_weights;  // elements per block (ne[0] must be a multiple)
  int64_t block_bytes;
};

// nullptr for an unknown id.
const TensorTypeTraits* tensor_type_traits(uint32_t type_id);
inline const TensorTypeTraits* tensor_type_traits(TensorType type) {
  return tensor_type_traits(static_cast<uint32_t>(type));
}
// "F16", "sherry", ... or "unknown type 77" for an id outside the table.
std::string tensor_type_name(uint32_t type_id);
inline std::string tensor_type_name(TensorType type) {
  return tensor_type_name(static_cast<uint32_t>(type));
}

// Bytes a tensor of this type and shape (ggml order) takes; nullopt on overflow. shape[0] must be
// a multiple of the block size (checked by the callers).
std::optional<uint64_t> tensor_bytes(const TensorTypeTraits& traits,
                                     std::span<const int64_t> shape);
// "[4096, 32000]".
std::string shape_string(std::span<const int64_t> shape);

inline bool is_power_of_two(uint64_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}
inline uint64_t align_up(uint64_t x, uint64_t alignment) {
  return (x + alignment - 1) / alignment * alignment;
}

// "uint8", ..., "array", or "unknown value type 13" for an id outside the enum.
std::string value_type_name(uint32_t type_id);
inline std::string value_type_name(ValueType type) {
  return value_type_name(static_cast<uint32_t>(type));
}
inline bool is_known_value_type(uint32_t type_id) {
  return type_id <= 12;
}

}  // namespace sherry::gguf
