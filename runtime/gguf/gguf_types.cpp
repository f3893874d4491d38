#include "runtime/gguf/gguf_types.h"

#include <array>

#include <fmt/ranges.h>

namespace sherry::gguf {
namespace {

struct TypeEntry {
  uint32_t id;
  TensorTypeTraits traits;
};

// Block sizes and bytes per block as ggml defines them (ggml-common.h block structs).
constexpr TypeEntry kTypeTable[] = {
    {0, {"F32", 1, 4}},         {1, {"F16", 1, 2}},         {2, {"Q4_0", 32, 18}},
    {3, {"Q4_1", 32, 20}},      {6, {"Q5_0", 32, 22}},      {7, {"Q5_1", 32, 24}},
    {8, {"Q8_0", 32, 34}},      {9, {"Q8_1", 32, 36}},      {10, {"Q2_K", 256, 84}},
    {11, {"Q3_K", 256, 110}},   {12, {"Q4_K", 256, 144}},   {13, {"Q5_K", 256, 176}},
    {14, {"Q6_K", 256, 210}},   {15, {"Q8_K", 256, 292}},   {16, {"IQ2_XXS", 256, 66}},
    {17, {"IQ2_XS", 256, 74}},  {18, {"IQ3_XXS", 256, 98}}, {19, {"IQ1_S", 256, 50}},
    {20, {"IQ4_NL", 32, 18}},   {21, {"IQ3_S", 256, 110}},  {22, {"IQ2_S", 256, 82}},
    {23, {"IQ4_XS", 256, 136}}, {24, {"I8", 1, 1}},         {25, {"I16", 1, 2}},
    {26, {"I32", 1, 4}},        {27, {"I64", 1, 8}},        {28, {"F64", 1, 8}},
    {29, {"IQ1_M", 256, 56}},   {30, {"BF16", 1, 2}},       {34, {"TQ1_0", 256, 54}},
    {35, {"TQ2_0", 256, 66}},   {42, {"STQ1_0", 256, 42}},  {43, {"STQ1_0", 256, 42}},
    {1250, {"sherry", 32, 5}},
};

constexpr std::array<std::string_view, 13> kValueTypeNames = {
    "uint8", "int8",   "uint16", "int16",  "uint32", "int32",   "float32",
    "bool",  "string", "array",  "uint64", "int64",  "float64",
};

}  // namespace

const TensorTypeTraits* tensor_type_traits(uint32_t type_id) {
  for (const TypeEntry& entry : kTypeTable) {
    if (entry.id == type_id) return &entry.traits;
  }
  return nullptr;
}

std::string tensor_type_name(uint32_t type_id) {
  const TensorTypeTraits* traits = tensor_type_traits(type_id);
  if (traits == nullptr) return fmt::format("unknown type {}", type_id);
  return std::string(traits->name);
}

std::optional<uint64_t> tensor_bytes(const TensorTypeTraits& traits,
                                     std::span<const int64_t> shape) {
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(shape[0] / traits.block_weights),
                             static_cast<uint64_t>(traits.block_bytes), &bytes)) {
    return std::nullopt;
  }
  for (size_t i = 1; i < shape.size(); ++i) {
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(shape[i]), &bytes)) return std::nullopt;
  }
  return bytes;
}

std::string shape_string(std::span<const int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

std::string value_type_name(uint32_t type_id) {
  if (!is_known_value_type(type_id)) return fmt::format("unknown value type {}", type_id);
  return std::string(kValueTypeNames[type_id]);
}

}  // namespace sherry::gguf
