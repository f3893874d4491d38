// GGUF metadata values: the typed Value of a key-value pair and its makers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

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

}  // namespace sherry::gguf
