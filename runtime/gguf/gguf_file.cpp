#include "runtime/gguf/gguf_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

bool is_power_of_two(uint64_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

uint64_t align_up(uint64_t x, uint64_t alignment) {
  return (x + alignment - 1) / alignment * alignment;
}

// Bytes a tensor of this type and shape takes; nullopt on overflow. ne[0] must be a multiple
// of the block size (checked by the callers).
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

// ---- writing ----

class ByteSink {
 public:
  template <class T>
  void put(T value) {
    const auto* p = reinterpret_cast<const uint8_t*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_string(std::string_view text) {
    put<uint64_t>(text.size());
    bytes_.insert(bytes_.end(), text.begin(), text.end());
  }
  void pad_to(uint64_t alignment) { bytes_.resize(align_up(bytes_.size(), alignment), 0); }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

void put_value(ByteSink& sink, const Value& value) {
  switch (value.type) {
    case ValueType::kUint8:
      sink.put<uint8_t>(std::get<uint64_t>(value.data));
      break;
    case ValueType::kInt8:
      sink.put<int8_t>(std::get<int64_t>(value.data));
      break;
    case ValueType::kUint16:
      sink.put<uint16_t>(std::get<uint64_t>(value.data));
      break;
    case ValueType::kInt16:
      sink.put<int16_t>(std::get<int64_t>(value.data));
      break;
    case ValueType::kUint32:
      sink.put<uint32_t>(std::get<uint64_t>(value.data));
      break;
    case ValueType::kInt32:
      sink.put<int32_t>(std::get<int64_t>(value.data));
      break;
    case ValueType::kUint64:
      sink.put<uint64_t>(std::get<uint64_t>(value.data));
      break;
    case ValueType::kInt64:
      sink.put<int64_t>(std::get<int64_t>(value.data));
      break;
    case ValueType::kFloat32:
      sink.put<float>(static_cast<float>(std::get<double>(value.data)));
      break;
    case ValueType::kFloat64:
      sink.put<double>(std::get<double>(value.data));
      break;
    case ValueType::kBool:
      sink.put<uint8_t>(std::get<bool>(value.data) ? 1 : 0);
      break;
    case ValueType::kString:
      sink.put_string(std::get<std::string>(value.data));
      break;
    case ValueType::kArray: {
      const Array& elements = std::get<Array>(value.data);
      sink.put<uint32_t>(static_cast<uint32_t>(value.array_type));
      sink.put<uint64_t>(elements.size());
      for (const Value& element : elements) put_value(sink, element);
      break;
    }
  }
}

std::string errno_text() {
  return std::strerror(errno);
}

Status write_all(int fd, const uint8_t* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return make_error("{}: writing: expected to write {} more bytes, failed: {}", path, size,
                        errno_text());
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
  return {};
}

}  // namespace

// ---- Value ----

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

int64_t TensorInfo::element_count() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

// ---- Reader ----

Reader::~Reader() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
}

Result<std::unique_ptr<Reader>> Reader::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("{}: cannot open: {}", path, errno_text());
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    return make_error("{}: cannot stat: {}", path, why);
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return make_error("{}: expected a regular file, found another kind of file", path);
  }
  const auto size = static_cast<size_t>(info.st_size);
  if (size < kHeaderBytes) {
    ::close(fd);
    return make_error("{}: header: expected at least {} bytes, found a file of {} bytes", path,
                      kHeaderBytes, size);
  }
  void* mapping = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const std::string why = errno_text();
  ::close(fd);  // the mapping keeps the file alive
  if (mapping == MAP_FAILED) return make_error("{}: cannot map {} bytes: {}", path, size, why);
  auto parsed = parse(std::span(static_cast<const uint8_t*>(mapping), size), path);
  if (!parsed) {
    ::munmap(mapping, size);
    return parsed.error();
  }
  (*parsed)->mapping_ = mapping;
  (*parsed)->mapping_size_ = size;
  return parsed;
}

Result<std::unique_ptr<Reader>> Reader::parse(std::span<const uint8_t> data, std::string name) {
  std::unique_ptr<Reader> reader(new Reader());
  reader->path_ = std::move(name);
  const std::string& file = reader->path_;
  Cursor cursor(data);

  // Header.
  if (data.size() < kHeaderBytes) {
    return make_error("{}: header: expected at least {} bytes, found a file of {} bytes", file,
                      kHeaderBytes, data.size());
  }
  const uint32_t magic = cursor.read<uint32_t>().value();
  if (magic != kMagic) {
    return make_error("{}: header: expected magic \"GGUF\" (0x{:08x}), found 0x{:08x}", file,
                      kMagic, magic);
  }
  reader->version_ = cursor.read<uint32_t>().value();
  if (reader->version_ != 2 && reader->version_ != 3) {
    return make_error("{}: header: expected version 2 or 3 (little-endian), found {}", file,
                      reader->version_);
  }
  const uint64_t tensor_count = cursor.read<uint64_t>().value();
  const uint64_t kv_count = cursor.read<uint64_t>().value();
  const uint64_t body = data.size() - kHeaderBytes;
  if (tensor_count > body / kMinTensorInfoBytes) {
    return make_error(
        "{}: header: expected a tensor count of at most {} for a file of {} bytes, found {}", file,
        body / kMinTensorInfoBytes, data.size(), tensor_count);
  }
  if (kv_count > body / kMinKeyValueBytes) {
    return make_error(
        "{}: header: expected a key-value count of at most {} for a file of {} bytes, found {}",
        file, body / kMinKeyValueBytes, data.size(), kv_count);
  }

  // Key-value pairs.
  uint64_t elements_left = kMaxMetadataElements;
  std::set<std::string, std::less<>> keys;
  reader->metadata_.reserve(kv_count);
  for (uint64_t i = 0; i < kv_count; ++i) {
    auto key = cursor.read_string();
    if (!key) return key.error().with_context(fmt::format("{}: key-value pair #{}: key", file, i));
    if (key->empty()) {
      return make_error("{}: key-value pair #{}: expected a non-empty key, found an empty string",
                        file, i);
    }
    if (!keys.insert(*key).second) {
      return make_error("{}: key '{}' (pair #{}): expected unique keys, found a duplicate", file,
                        *key, i);
    }
    auto type_id = cursor.read<uint32_t>();
    if (!type_id)
      return type_id.error().with_context(fmt::format("{}: key '{}': type", file, *key));
    if (!is_known_value_type(*type_id)) {
      return make_error("{}: key '{}': expected a value type 0..12, found {}", file, *key,
                        *type_id);
    }
    auto value = read_value(cursor, static_cast<ValueType>(*type_id), 0, elements_left);
    if (!value) return value.error().with_context(fmt::format("{}: key '{}'", file, *key));
    reader->metadata_.emplace_back(std::move(*key), std::move(*value));
  }

  if (const Value* alignment = reader->find(names::kAlignment)) {
    if (alignment->type != ValueType::kUint32) {
      return make_error("{}: key '{}': expected a uint32, found {}", file, names::kAlignment,
                        value_type_name(alignment->type));
    }
    const uint64_t a = std::get<uint64_t>(alignment->data);
    if (!is_power_of_two(a)) {
      return make_error("{}: key '{}': expected a power of two, found {}", file, names::kAlignment,
                        a);
    }
    reader->alignment_ = a;
  }

  // Tensor infos.
  reader->tensors_.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    const std::string where = fmt::format("{}: tensor info #{}", file, i);
    auto name = cursor.read_string();
    if (!name) return name.error().with_context(where + ": name");
    if (name->empty())
      return make_error("{}: expected a non-empty name, found an empty string", where);
    const std::string object = fmt::format("{} '{}'", where, *name);
    if (reader->tensor_index_.count(*name) != 0) {
      return make_error("{}: expected unique tensor names, found a duplicate", object);
    }
    auto n_dims = cursor.read<uint32_t>();
    if (!n_dims) return n_dims.error().with_context(object + ": dimension count");
    if (*n_dims < 1 || *n_dims > kMaxDims) {
      return make_error("{}: expected 1..{} dimensions, found {}", object, kMaxDims, *n_dims);
    }
    TensorInfo info;
    info.name = std::move(*name);
    for (uint32_t d = 0; d < *n_dims; ++d) {
      auto dim = cursor.read<uint64_t>();
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
    auto type_id = cursor.read<uint32_t>();
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
    auto offset = cursor.read<uint64_t>();
    if (!offset) return offset.error().with_context(object + ": offset");
    info.offset = *offset;
    if (info.offset % reader->alignment_ != 0) {
      return make_error("{}: expected an offset aligned to {} bytes, found {}", object,
                        reader->alignment_, info.offset);
    }
    reader->tensor_index_.emplace(info.name, reader->tensors_.size());
    reader->tensors_.push_back(std::move(info));
  }

  // Data section: starts at the next multiple of the alignment; files without tensors may end
  // before it.
  if (tensor_count == 0) return reader;
  const uint64_t data_start = align_up(cursor.position(), reader->alignment_);
  if (data_start > data.size()) {
    return make_error(
        "{}: data section: expected to start at offset {} (aligned to {}), found a file of {} "
        "bytes",
        file, data_start, reader->alignment_, data.size());
  }
  const uint64_t data_size = data.size() - data_start;
  for (TensorInfo& info : reader->tensors_) {
    if (info.offset > data_size || info.byte_size > data_size - info.offset) {
      return make_error(
          "{}: tensor '{}': expected its {} bytes at data offset {} to lie inside the {}-byte data "
          "section, found them past its end (file truncated?)",
          file, info.name, info.byte_size, info.offset, data_size);
    }
    info.data = data.data() + data_start + info.offset;
  }
  std::vector<const TensorInfo*> by_offset;
  for (const TensorInfo& info : reader->tensors_) by_offset.push_back(&info);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& before = *by_offset[i - 1];
    const TensorInfo& after = *by_offset[i];
    if (before.offset + before.byte_size > after.offset) {
      return make_error(
          "{}: tensor '{}': expected its data (offset {}) not to overlap tensor '{}' (offset {}, "
          "{} "
          "bytes), found an overlap",
          file, after.name, after.offset, before.name, before.offset, before.byte_size);
    }
  }
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

// ---- Writer ----

void Writer::set(std::string key, Value value) {
  SHERRY_CHECK(!key.empty(), "empty metadata key");
  for (auto& [name, existing] : metadata_) {
    if (name == key) {
      existing = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(std::move(key), std::move(value));
}

const Value* Writer::find(std::string_view key) const {
  for (const auto& [name, value] : metadata_) {
    if (name == key) return &value;
  }
  return nullptr;
}

bool Writer::has_tensor(std::string_view name) const {
  return std::any_of(tensors_.begin(), tensors_.end(),
                     [&](const PendingTensor& t) { return t.name == name; });
}

void Writer::set_string(std::string key, std::string value) {
  set(std::move(key), make_string(std::move(value)));
}
void Writer::set_uint32(std::string key, uint32_t value) {
  set(std::move(key), make_uint(ValueType::kUint32, value));
}
void Writer::set_int32(std::string key, int32_t value) {
  set(std::move(key), make_int(ValueType::kInt32, value));
}
void Writer::set_float32(std::string key, float value) {
  set(std::move(key), make_float(ValueType::kFloat32, value));
}
void Writer::set_bool(std::string key, bool value) {
  set(std::move(key), make_bool(value));
}

void Writer::set_string_array(std::string key, const std::vector<std::string>& values) {
  Array elements;
  elements.reserve(values.size());
  for (const std::string& v : values) elements.push_back(make_string(v));
  set(std::move(key), make_array(ValueType::kString, std::move(elements)));
}

void Writer::set_float32_array(std::string key, const std::vector<float>& values) {
  Array elements;
  elements.reserve(values.size());
  for (float v : values) elements.push_back(make_float(ValueType::kFloat32, v));
  set(std::move(key), make_array(ValueType::kFloat32, std::move(elements)));
}

void Writer::set_int32_array(std::string key, const std::vector<int32_t>& values) {
  Array elements;
  elements.reserve(values.size());
  for (int32_t v : values) elements.push_back(make_int(ValueType::kInt32, v));
  set(std::move(key), make_array(ValueType::kInt32, std::move(elements)));
}

void Writer::add_tensor(std::string name, TensorType type, std::vector<int64_t> shape,
                        std::span<const uint8_t> bytes) {
  const TensorTypeTraits* traits = tensor_type_traits(type);
  SHERRY_CHECK(traits != nullptr, "tensor '{}' of unknown type {}", name,
               static_cast<uint32_t>(type));
  SHERRY_CHECK(!name.empty() && !has_tensor(name), "tensor name '{}' empty or repeated", name);
  SHERRY_CHECK(!shape.empty() && shape.size() <= kMaxDims, "tensor '{}' with {} dimensions", name,
               shape.size());
  for (int64_t dim : shape)
    SHERRY_CHECK(dim > 0, "tensor '{}' shape {}", name, shape_string(shape));
  SHERRY_CHECK(shape[0] % traits->block_weights == 0, "tensor '{}': ne[0] {} not a multiple of {}",
               name, shape[0], traits->block_weights);
  const auto expected = tensor_bytes(*traits, shape);
  SHERRY_CHECK(expected && *expected == bytes.size(), "tensor '{}' of {} {}: {} bytes given", name,
               traits->name, shape_string(shape), bytes.size());
  tensors_.push_back({std::move(name), type, std::move(shape), {bytes.begin(), bytes.end()}});
}

Status Writer::write(const std::string& path) const {
  uint64_t alignment = kDefaultAlignment;
  if (const Value* value = find(names::kAlignment)) {
    if (value->type != ValueType::kUint32) {
      return make_error("{}: key '{}': expected a uint32 power of two, found a {}", path,
                        names::kAlignment, value_type_name(value->type));
    }
    alignment = std::get<uint64_t>(value->data);
    if (!is_power_of_two(alignment)) {
      return make_error("{}: key '{}': expected a uint32 power of two, found {}", path,
                        names::kAlignment, alignment);
    }
  }

  ByteSink head;
  head.put<uint32_t>(kMagic);
  head.put<uint32_t>(kVersion);
  head.put<uint64_t>(tensors_.size());
  head.put<uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    head.put_string(key);
    head.put<uint32_t>(static_cast<uint32_t>(value.type));
    put_value(head, value);
  }
  std::vector<uint64_t> offsets;
  uint64_t offset = 0;
  for (const PendingTensor& tensor : tensors_) {
    head.put_string(tensor.name);
    head.put<uint32_t>(static_cast<uint32_t>(tensor.shape.size()));
    for (int64_t dim : tensor.shape) head.put<uint64_t>(static_cast<uint64_t>(dim));
    head.put<uint32_t>(static_cast<uint32_t>(tensor.type));
    head.put<uint64_t>(offset);
    offsets.push_back(offset);
    offset = align_up(offset + tensor.bytes.size(), alignment);
  }
  head.pad_to(alignment);

  // Temporary file beside the target, so the rename is atomic on the same file system.
  std::string temp_path = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(temp_path.data());
  if (fd < 0)
    return make_error("{}: cannot create a temporary file beside it: {}", path, errno_text());
  auto fail = [&](Error error) -> Status {
    ::close(fd);
    ::unlink(temp_path.c_str());
    return error;
  };
  ::fchmod(fd, 0644);
  if (Status s = write_all(fd, head.bytes().data(), head.bytes().size(), temp_path); !s) {
    return fail(s.error());
  }
  const std::vector<uint8_t> padding(alignment, 0);
  uint64_t written = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (Status s = write_all(fd, padding.data(), offsets[i] - written, temp_path); !s)
      return fail(s.error());
    const std::vector<uint8_t>& bytes = tensors_[i].bytes;
    if (Status s = write_all(fd, bytes.data(), bytes.size(), temp_path); !s) return fail(s.error());
    written = offsets[i] + bytes.size();
  }
  if (::fsync(fd) != 0) return fail(make_error("{}: fsync failed: {}", temp_path, errno_text()));
  if (::close(fd) != 0) {
    ::unlink(temp_path.c_str());
    return make_error("{}: close failed: {}", temp_path, errno_text());
  }
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(temp_path.c_str());
    return make_error("{}: cannot rename the temporary file {} onto it: {}", path, temp_path, why);
  }
  // Make the rename itself durable.
  const auto slash = path.find_last_of('/');
  const std::string dir =
      slash == std::string::npos ? "." : path.substr(0, std::max<size_t>(slash, 1));
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

}  // namespace sherry::gguf
