#include "runtime/gguf/gguf_reader.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <set>

#include <fmt/ranges.h>

#include "runtime/gguf/llama_names.h"

namespace sherry::gguf {
namespace {

constexpr uint64_t kHeaderBytes = 24;  // magic, version, tensor count, key-value count
// Smallest possible encodings, used to bound counts by the bytes left before anything is
// allocated: a key-value pair is a key (8-byte length + 1 byte), a type and a 1-byte value; a
// tensor info is a name (8 + 1), n_dims, one dimension, a type and an offset.
constexpr uint64_t kMinKeyValueBytes = 8 + 1 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;

uint64_t min_value_bytes(ValueType type) {
  switch (type) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kBool:
      return 1;
    case ValueType::kUint16:
    case ValueType::kInt16:
      return 2;
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kFloat32:
      return 4;
    case ValueType::kUint64:
    case ValueType::kInt64:
    case ValueType::kFloat64:
    case ValueType::kString:
      return 8;
    case ValueType::kArray:
      return 12;
  }
  return 1;
}

// Little-endian reads over the file bytes. Errors say what was needed and what was left; the
// caller adds the file and the object.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint64_t position() const { return position_; }
  uint64_t remaining() const { return bytes_.size() - position_; }

  template <class T>
  Result<T> read() {
    if (remaining() < sizeof(T)) return truncated(sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + position_, sizeof(T));
    position_ += sizeof(T);
    return value;
  }

  Result<std::string> read_string() {
    auto length = read<uint64_t>();
    if (!length) return length.error();
    if (*length > remaining()) {
      return make_error("expected a string of {} bytes at offset {}, found only {} bytes left",
                        *length, position_, remaining());
    }
    std::string text(reinterpret_cast<const char*>(bytes_.data() + position_), *length);
    position_ += *length;
    return text;
  }

 private:
  Error truncated(uint64_t needed) const {
    return make_error("expected {} more bytes at offset {}, found only {} (file truncated)", needed,
                      position_, remaining());
  }
  std::span<const uint8_t> bytes_;
  uint64_t position_ = 0;
};

template <class Stored, class Raw>
Result<Value> read_scalar(Cursor& cursor, ValueType type) {
  auto raw = cursor.read<Raw>();
  if (!raw) return raw.error();
  Value value;
  value.type = type;
  value.data = static_cast<Stored>(*raw);
  return value;
}

// `elements_left` is the metadata's remaining array-element budget (kMaxMetadataElements).
Result<Value> read_value(Cursor& cursor, ValueType type, int depth, uint64_t& elements_left) {
  switch (type) {
    case ValueType::kUint8:
      return read_scalar<uint64_t, uint8_t>(cursor, type);
    case ValueType::kInt8:
      return read_scalar<int64_t, int8_t>(cursor, type);
    case ValueType::kUint16:
      return read_scalar<uint64_t, uint16_t>(cursor, type);
    case ValueType::kInt16:
      return read_scalar<int64_t, int16_t>(cursor, type);
    case ValueType::kUint32:
      return read_scalar<uint64_t, uint32_t>(cursor, type);
    case ValueType::kInt32:
      return read_scalar<int64_t, int32_t>(cursor, type);
    case ValueType::kUint64:
      return read_scalar<uint64_t, uint64_t>(cursor, type);
    case ValueType::kInt64:
      return read_scalar<int64_t, int64_t>(cursor, type);
    case ValueType::kFloat32:
      return read_scalar<double, float>(cursor, type);
    case ValueType::kFloat64:
      return read_scalar<double, double>(cursor, type);
    case ValueType::kBool: {
      const uint64_t at = cursor.position();
      auto raw = cursor.read<uint8_t>();
      if (!raw) return raw.error();
      if (*raw > 1) return make_error("expected a bool (0 or 1) at offset {}, found {}", at, *raw);
      return make_bool(*raw == 1);
    }
    case ValueType::kString: {
      auto text = cursor.read_string();
      if (!text) return text.error();
      return make_string(std::move(*text));
    }
    case ValueType::kArray: {
      auto element_type_id = cursor.read<uint32_t>();
      if (!element_type_id) return element_type_id.error();
      if (!is_known_value_type(*element_type_id)) {
        return make_error("expected an array element type 0..12, found {}", *element_type_id);
      }
      const auto element_type = static_cast<ValueType>(*element_type_id);
      if (element_type == ValueType::kArray && depth + 1 >= kMaxArrayDepth) {
        return make_error("expected arrays nested at most {} deep, found deeper nesting",
                          kMaxArrayDepth);
      }
      auto count = cursor.read<uint64_t>();
      if (!count) return count.error();
      if (*count > cursor.remaining() / min_value_bytes(element_type)) {
        return make_error(
            "expected an array length that fits the {} bytes left ({} bytes per {} at least), "
            "found {}",
            cursor.remaining(), min_value_bytes(element_type), value_type_name(element_type),
            *count);
      }
      // Each element is a Value of ~56 bytes: bound the total so that a corrupt count in a large
      // file cannot turn its bytes into tens of gigabytes of Values.
      if (*count > elements_left) {
        return make_error(
            "expected at most {} array elements in all the metadata, found {} more here",
            kMaxMetadataElements, *count);
      }
      elements_left -= *count;
      Array elements;
      elements.reserve(*count);
      for (uint64_t i = 0; i < *count; ++i) {
        auto element = read_value(cursor, element_type, depth + 1, elements_left);
        if (!element) return element.error().with_context(fmt::format("element #{}", i));
        elements.push_back(std::move(*element));
      }
      return make_array(element_type, std::move(elements));
    }
  }
  // Callers check the type id before casting it.
  SHERRY_CHECK(false, "value type {} outside the enum", static_cast<uint32_t>(type));
  return make_error("unreachable");
}

}  // namespace

// The steps of Reader::parse, in file order: header, key-value pairs, general.alignment, tensor
// infos, then the data section (every tensor inside it, no two overlapping). Each error names the
// file and the object.
class ReaderParser {
 public:
  ReaderParser(Reader& reader, std::span<const uint8_t> data)
      : reader_(reader), file_(reader.path_), data_(data), cursor_(data) {}

  Status parse() {
    SHERRY_TRY(header());
    SHERRY_TRY(metadata());
    SHERRY_TRY(alignment());
    SHERRY_TRY(tensor_infos());
    // Files without tensors may end before the data section.
    if (tensor_count_ == 0) return {};
    SHERRY_TRY(data_section());
    return no_overlaps();
  }

 private:
  // Magic, version, and tensor and key-value counts bounded by the bytes that follow.
  Status header() {
    if (data_.size() < kHeaderBytes) {
      return make_error("{}: header: expected at least {} bytes, found a file of {} bytes", file_,
                        kHeaderBytes, data_.size());
    }
    const uint32_t magic = cursor_.read<uint32_t>().value();
    if (magic != kMagic) {
      return make_error("{}: header: expected magic \"GGUF\" (0x{:08x}), found 0x{:08x}", file_,
                        kMagic, magic);
    }
    reader_.version_ = cursor_.read<uint32_t>().value();
    if (reader_.version_ != 2 && reader_.version_ != 3) {
      return make_error("{}: header: expected version 2 or 3 (little-endian), found {}", file_,
                        reader_.version_);
    }
    tensor_count_ = cursor_.read<uint64_t>().value();
    kv_count_ = cursor_.read<uint64_t>().value();
    const uint64_t body = data_.size() - kHeaderBytes;
    if (tensor_count_ > body / kMinTensorInfoBytes) {
      return make_error(
          "{}: header: expected a tensor count of at most {} for a file of {} bytes, found {}",
          file_, body / kMinTensorInfoBytes, data_.size(), tensor_count_);
    }
    if (kv_count_ > body / kMinKeyValueBytes) {
      return make_error(
          "{}: header: expected a key-value count of at most {} for a file of {} bytes, found {}",
          file_, body / kMinKeyValueBytes, data_.size(), kv_count_);
    }
    return {};
  }

  // The key-value pairs: non-empty unique keys, known value types, the array-element budget.
  Status metadata() {
    uint64_t elements_left = kMaxMetadataElements;
    std::set<std::string, std::less<>> keys;
    reader_.metadata_.reserve(kv_count_);
    for (uint64_t i = 0; i < kv_count_; ++i) {
      auto key = cursor_.read_string();
      if (!key)
        return key.error().with_context(fmt::format("{}: key-value pair #{}: key", file_, i));
      if (key->empty()) {
        return make_error("{}: key-value pair #{}: expected a non-empty key, found an empty string",
                          file_, i);
      }
      if (!keys.insert(*key).second) {
        return make_error("{}: key '{}' (pair #{}): expected unique keys, found a duplicate", file_,
                          *key, i);
      }
      auto type_id = cursor_.read<uint32_t>();
      if (!type_id)
        return type_id.error().with_context(fmt::format("{}: key '{}': type", file_, *key));
      if (!is_known_value_type(*type_id)) {
        return make_error("{}: key '{}': expected a value type 0..12, found {}", file_, *key,
                          *type_id);
      }
      auto value = read_value(cursor_, static_cast<ValueType>(*type_id), 0, elements_left);
      if (!value) return value.error().with_context(fmt::format("{}: key '{}'", file_, *key));
      reader_.metadata_.emplace_back(std::move(*key), std::move(*value));
    }
    return {};
  }

  // general.alignment, when present: a uint32 power of two.
  Status alignment() {
    const Value* alignment = reader_.find(names::kAlignment);
    if (alignment == nullptr) return {};
    if (alignment->type != ValueType::kUint32) {
      return make_error("{}: key '{}': expected a uint32, found {}", file_, names::kAlignment,
                        value_type_name(alignment->type));
    }
    const uint64_t a = std::get<uint64_t>(alignment->data);
    if (!is_power_of_two(a)) {
      return make_error("{}: key '{}': expected a power of two, found {}", file_, names::kAlignment,
                        a);
    }
    reader_.alignment_ = a;
    return {};
  }

  Status tensor_infos() {
    reader_.tensors_.reserve(tensor_count_);
    for (uint64_t i = 0; i < tensor_count_; ++i) {
      auto info = tensor_info(i);
      if (!info) return info.error();
      reader_.tensor_index_.emplace(info->name, reader_.tensors_.size());
      reader_.tensors_.push_back(std::move(*info));
    }
    return {};
  }

  // Tensor info #i: a new non-empty name, 1..kMaxDims positive dimensions, a known type whose
  // block divides ne[0], a byte size that does not overflow, an aligned offset.
  Result<TensorInfo> tensor_info(uint64_t i) {
    const std::string where = fmt::format("{}: tensor info #{}", file_, i);
    auto name = cursor_.read_string();
    if (!name) return name.error().with_context(where + ": name");
    if (name->empty())
      return make_error("{}: expected a non-empty name, found an empty string", where);
    const std::string object = fmt::format("{} '{}'", where, *name);
    if (reader_.tensor_index_.count(*name) != 0) {
      return make_error("{}: expected unique tensor names, found a duplicate", object);
    }
    auto n_dims = cursor_.read<uint32_t>();
    if (!n_dims) return n_dims.error().with_context(object + ": dimension count");
    if (*n_dims < 1 || *n_dims > kMaxDims) {
      return make_error("{}: expected 1..{} dimensions, found {}", object, kMaxDims, *n_dims);
    }
    TensorInfo info;
    info.name = std::move(*name);
    for (uint32_t d = 0; d < *n_dims; ++d) {
      auto dim = cursor_.read<uint64_t>();
      if (!dim) return dim.error().with_context(object + ": shape");
      if (*dim == 0 || *dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return make_error("{}: expected dimension {} in 1..2^63-1, found {}", object, d, *dim);
      }
      info.shape.push_back(static_cast<int64_t>(*dim));
    }
    int64_t elements = 1;
    for (int64_t dim : info.shape) {
      if (__builtin_mul_overflow(elements, dim, &elements)) {
        return make_error("{}: expected an element count below 2^63, found shape {} (overflow)",
                          object, shape_string(info.shape));
      }
    }
    auto type_id = cursor_.read<uint32_t>();
    if (!type_id) return type_id.error().with_context(object + ": type");
    const TensorTypeTraits* traits = tensor_type_traits(*type_id);
    if (traits == nullptr) {
      return make_error("{}: expected a known tensor type, found type id {}", object, *type_id);
    }
    info.type = static_cast<TensorType>(*type_id);
    if (info.shape[0] % traits->block_weights != 0) {
      return make_error("{}: expected ne[0] to be a multiple of {} (the {} block size), found {}",
                        object, traits->block_weights, traits->name, info.shape[0]);
    }
    const auto bytes = tensor_bytes(*traits, info.shape);
    if (!bytes) {
      return make_error("{}: expected a byte size below 2^64, found shape {} of {} (overflow)",
                        object, shape_string(info.shape), traits->name);
    }
    info.byte_size = *bytes;
    auto offset = cursor_.read<uint64_t>();
    if (!offset) return offset.error().with_context(object + ": offset");
    info.offset = *offset;
    if (info.offset % reader_.alignment_ != 0) {
      return make_error("{}: expected an offset aligned to {} bytes, found {}", object,
                        reader_.alignment_, info.offset);
    }
    return info;
  }

  // The data section starts at the next multiple of the alignment and holds every tensor's bytes;
  // sets each TensorInfo::data.
  Status data_section() {
    const uint64_t data_start = align_up(cursor_.position(), reader_.alignment_);
    if (data_start > data_.size()) {
      return make_error(
          "{}: data section: expected to start at offset {} (aligned to {}), found a file of {} "
          "bytes",
          file_, data_start, reader_.alignment_, data_.size());
    }
    const uint64_t data_size = data_.size() - data_start;
    for (TensorInfo& info : reader_.tensors_) {
      if (info.offset > data_size || info.byte_size > data_size - info.offset) {
        return make_error(
            "{}: tensor '{}': expected its {} bytes at data offset {} to lie inside the {}-byte "
            "data section, found them past its end (file truncated?)",
            file_, info.name, info.byte_size, info.offset, data_size);
      }
      info.data = data_.data() + data_start + info.offset;
    }
    return {};
  }

  Status no_overlaps() const {
    std::vector<const TensorInfo*> by_offset;
    for (const TensorInfo& info : reader_.tensors_) by_offset.push_back(&info);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const TensorInfo& before = *by_offset[i - 1];
      const TensorInfo& after = *by_offset[i];
      if (before.offset + before.byte_size > after.offset) {
        return make_error(
            "{}: tensor '{}': expected its data (offset {}) not to overlap tensor '{}' (offset {}, "
            "{} bytes), found an overlap",
            file_, after.name, after.offset, before.name, before.offset, before.byte_size);
      }
    }
    return {};
  }

  Reader& reader_;
  const std::string& file_;
  std::span<const uint8_t> data_;
  Cursor cursor_;
  uint64_t tensor_count_ = 0;
  uint64_t kv_count_ = 0;
};

int64_t TensorInfo::element_count() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

Reader::~Reader() = default;

Result<std::unique_ptr<Reader>> Reader::open(const std::string& path) {
  auto mapped = MappedFile::open(path);
  if (!mapped) return mapped.error();
  auto parsed = parse(mapped->bytes(), path);  // checks the header's size first
  if (!parsed) return parsed.error();
  (*parsed)->mapping_ = std::move(*mapped);
  return parsed;
}

Result<std::unique_ptr<Reader>> Reader::parse(std::span<const uint8_t> data, std::string name) {
  std::unique_ptr<Reader> reader(new Reader());
  reader->path_ = std::move(name);
  if (Status parsed = ReaderParser(*reader, data).parse(); !parsed) return parsed.error();
  return reader;
}

const Value* Reader::find(std::string_view key) const {
  for (const auto& [name, value] : metadata_) {
    if (name == key) return &value;
  }
  return nullptr;
}

const TensorInfo* Reader::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Result<std::string> Reader::get_string(std::string_view key) const {
  const Value* value = find(key);
  if (value == nullptr)
    return make_error("{}: key '{}': expected a string, found no such key", path_, key);
  if (const std::string* text = value->as_string()) return *text;
  return make_error("{}: key '{}': expected a string, found {}", path_, key,
                    value_type_name(value->type));
}

Result<int64_t> Reader::get_int(std::string_view key) const {
  const Value* value = find(key);
  if (value == nullptr)
    return make_error("{}: key '{}': expected an integer, found no such key", path_, key);
  if (auto number = value->as_int()) return *number;
  return make_error("{}: key '{}': expected an integer (below 2^63), found {}", path_, key,
                    value_type_name(value->type));
}

Result<double> Reader::get_float(std::string_view key) const {
  const Value* value = find(key);
  if (value == nullptr)
    return make_error("{}: key '{}': expected a number, found no such key", path_, key);
  if (auto number = value->as_float()) return *number;
  return make_error("{}: key '{}': expected a number, found {}", path_, key,
                    value_type_name(value->type));
}

namespace {

// The array under `key` if its elements pass `accept`, else an error naming the key.
template <class T, class Convert>
Result<std::vector<T>> typed_array(const std::string& file, std::string_view key,
                                   const Value* value, std::string_view expected, Convert convert) {
  if (value == nullptr) {
    return make_error("{}: key '{}': expected an array of {}, found no such key", file, key,
                      expected);
  }
  const Array* elements = value->as_array();
  if (elements == nullptr) {
    return make_error("{}: key '{}': expected an array of {}, found {}", file, key, expected,
                      value_type_name(value->type));
  }
  std::vector<T> out;
  out.reserve(elements->size());
  for (const Value& element : *elements) {
    auto converted = convert(element);
    if (!converted) {
      return make_error("{}: key '{}': expected an array of {}, found an array of {}", file, key,
                        expected, value_type_name(value->array_type));
    }
    out.push_back(std::move(*converted));
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> Reader::get_string_array(std::string_view key) const {
  return typed_array<std::string>(path_, key, find(key), "strings", [](const Value& v) {
    const std::string* text = v.as_string();
    return text ? std::optional<std::string>(*text) : std::nullopt;
  });
}

Result<std::vector<double>> Reader::get_float_array(std::string_view key) const {
  return typed_array<double>(path_, key, find(key), "numbers",
                             [](const Value& v) { return v.as_float(); });
}

Result<std::vector<int64_t>> Reader::get_int_array(std::string_view key) const {
  return typed_array<int64_t>(path_, key, find(key), "integers",
                              [](const Value& v) { return v.as_int(); });
}

Result<const TensorInfo*> Reader::require_tensor(std::string_view name, std::vector<int64_t> shape,
                                                 std::vector<TensorType> types) const {
  std::vector<std::string> type_names;
  for (TensorType type : types) type_names.push_back(tensor_type_name(type));
  const std::string expected_types =
      types.empty() ? std::string("any type") : fmt::format("{}", fmt::join(type_names, " or "));
  const TensorInfo* info = find_tensor(name);
  if (info == nullptr) {
    return make_error("{}: tensor '{}': expected shape {} of {}, found no such tensor", path_, name,
                      shape_string(shape), expected_types);
  }
  if (info->shape != shape) {
    return make_error("{}: tensor '{}': expected shape {}, found {}", path_, name,
                      shape_string(shape), shape_string(info->shape));
  }
  if (!types.empty() && std::find(types.begin(), types.end(), info->type) == types.end()) {
    return make_error("{}: tensor '{}': expected type {}, found {}", path_, name, expected_types,
                      tensor_type_name(info->type));
  }
  return info;
}

}  // namespace sherry::gguf
