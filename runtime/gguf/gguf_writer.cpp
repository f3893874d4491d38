#include "runtime/gguf/gguf_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/gguf/llama_names.h"

namespace sherry::gguf {
namespace {

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
