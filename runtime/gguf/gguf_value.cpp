#include "runtime/gguf/gguf_value.h"

#include <cstdint>
#include <limits>

#include "core/error.h"

namespace sherry::gguf {

std::optional<int64_t> Value::as_int() const {
  if (const auto* u = std::get_if<uint64_t>(&data)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&data)) return *i;
  return std::nullopt;
}

std::optional<double> Value::as_float() const {
  if (const auto* d = std::get_if<double>(&data)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&data)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&data)) return static_cast<double>(*i);
  return std::nullopt;
}

const std::string* Value::as_string() const {
  return std::get_if<std::string>(&data);
}
const Array* Value::as_array() const {
  return std::get_if<Array>(&data);
}

Value make_uint(ValueType type, uint64_t value) {
  uint64_t max = 0;
  switch (type) {
    case ValueType::kUint8:
      max = UINT8_MAX;
      break;
    case ValueType::kUint16:
      max = UINT16_MAX;
      break;
    case ValueType::kUint32:
      max = UINT32_MAX;
      break;
    case ValueType::kUint64:
      max = UINT64_MAX;
      break;
    default:
      SHERRY_CHECK(false, "make_uint with {}", value_type_name(type));
  }
  SHERRY_CHECK(value <= max, "{} does not fit {}", value, value_type_name(type));
  Value v;
  v.type = type;
  v.data = value;
  return v;
}

Value make_int(ValueType type, int64_t value) {
  int64_t min = 0, max = 0;
  switch (type) {
    case ValueType::kInt8:
      min = INT8_MIN, max = INT8_MAX;
      break;
    case ValueType::kInt16:
      min = INT16_MIN, max = INT16_MAX;
      break;
    case ValueType::kInt32:
      min = INT32_MIN, max = INT32_MAX;
      break;
    case ValueType::kInt64:
      min = INT64_MIN, max = INT64_MAX;
      break;
    default:
      SHERRY_CHECK(false, "make_int with {}", value_type_name(type));
  }
  SHERRY_CHECK(value >= min && value <= max, "{} does not fit {}", value, value_type_name(type));
  Value v;
  v.type = type;
  v.data = value;
  return v;
}

Value make_float(ValueType type, double value) {
  SHERRY_CHECK(type == ValueType::kFloat32 || type == ValueType::kFloat64, "make_float with {}",
               value_type_name(type));
  Value v;
  v.type = type;
  v.data = type == ValueType::kFloat32 ? static_cast<double>(static_cast<float>(value)) : value;
  return v;
}

Value make_bool(bool value) {
  Value v;
  v.type = ValueType::kBool;
  v.data = value;
  return v;
}

Value make_string(std::string value) {
  Value v;
  v.type = ValueType::kString;
  v.data = std::move(value);
  return v;
}

Value make_array(ValueType element_type, Array elements) {
  for (const Value& element : elements) {
    SHERRY_CHECK(element.type == element_type, "array of {} holding a {}",
                 value_type_name(element_type), value_type_name(element.type));
  }
  Value v;
  v.type = ValueType::kArray;
  v.array_type = element_type;
  v.data = std::move(elements);
  return v;
}

}  // namespace sherry::gguf
