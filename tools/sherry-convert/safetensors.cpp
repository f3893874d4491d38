#include "tools/sherry-convert/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/half.h"
#include "tools/sherry-convert/strict_json.h"

namespace sherry::hf {
namespace {

using nlohmann::json;

struct DtypeEntry {
  Dtype dtype;
  std::string_view name;
  int64_t bytes;
};
constexpr DtypeEntry kDtypes[] = {
    {Dtype::kBool, "BOOL", 1},      {Dtype::kU8, "U8", 1},          {Dtype::kI8, "I8", 1},
    {Dtype::kF8E5M2, "F8_E5M2", 1}, {Dtype::kF8E4M3, "F8_E4M3", 1}, {Dtype::kI16, "I16", 2},
    {Dtype::kU16, "U16", 2},        {Dtype::kF16, "F16", 2},        {Dtype::kBF16, "BF16", 2},
    {Dtype::kI32, "I32", 4},        {Dtype::kU32, "U32", 4},        {Dtype::kF32, "F32", 4},
    {Dtype::kF64, "F64", 8},        {Dtype::kI64, "I64", 8},        {Dtype::kU64, "U64", 8},
};

constexpr uint64_t kLengthBytes = 8;  // the little-endian u64 header length

std::string json_type(const json& value) {
  return value.type_name();
}

// A JSON integer in [0, limit] (tensor dimensions and offsets).
std::optional<uint64_t> as_size(const json& value, uint64_t limit) {
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0)) {
    return std::nullopt;
  }
  const auto v = value.get<uint64_t>();
  return v <= limit ? std::optional<uint64_t>(v) : std::nullopt;
}

}  // namespace

std::string_view to_string(Dtype dtype) {
  for (const DtypeEntry& e : kDtypes) {
    if (e.dtype == dtype) return e.name;
  }
  return "?";
}

int64_t dtype_bytes(Dtype dtype) {
  for (const DtypeEntry& e : kDtypes) {
    if (e.dtype == dtype) return e.bytes;
  }
  return 0;
}

int64_t SafetensorsTensor::element_count() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

SafetensorsFile::~SafetensorsFile() = default;

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string& path) {
  auto mapped = MappedFile::open(path);
  if (!mapped) return mapped.error();
  auto parsed = parse(mapped->bytes(), path);  // checks the length's 8 bytes first
  if (!parsed) return parsed.error();
  (*parsed)->mapping_ = std::move(*mapped);
  return parsed;
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::parse(std::span<const uint8_t> bytes,
                                                                std::string name) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = std::move(name);
  const std::string& path = file->path_;
  if (bytes.size() < kLengthBytes) {
    return make_error(
        "{}: header: expected at least {} bytes (the header length), found a file "
        "of {} bytes",
        path, kLengthBytes, bytes.size());
  }
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes.data(), sizeof(header_bytes));  // little-endian hosts only
  const uint64_t after_length = bytes.size() - kLengthBytes;
  if (header_bytes > after_length || header_bytes > kMaxSafetensorsHeader) {
    return make_error(
        "{}: header: expected a length of at most {} bytes (the file's {} bytes after the length, "
        "and the format's limit of {}), found {}",
        path, std::min<uint64_t>(after_length, kMaxSafetensorsHeader), after_length,
        kMaxSafetensorsHeader, header_bytes);
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + kLengthBytes),
                              header_bytes);
  if (text.empty() || text.front() != '{') {
    return make_error("{}: header: expected a JSON object starting with '{{', found {}", path,
                      text.empty() ? std::string("an empty header")
                                   : fmt::format("byte 0x{:02x}", static_cast<uint8_t>(text[0])));
  }
  auto header = parse_strict_json(text, path + ": header");
  if (!header) return header.error();
  const std::span<const uint8_t> data = bytes.subspan(kLengthBytes + header_bytes);

  for (const auto& [key, value] : header->items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) {
        return make_error("{}: key '__metadata__': expected an object of strings, found {}", path,
                          json_type(value));
      }
      for (const auto& [meta_key, meta_value] : value.items()) {
        if (!meta_value.is_string()) {
          return make_error("{}: key '__metadata__': entry '{}': expected a string, found {}", path,
                            meta_key, json_type(meta_value));
        }
        file->metadata_.emplace(meta_key, meta_value.get<std::string>());
      }
      continue;
    }
    const std::string object = fmt::format("{}: tensor '{}'", path, key);
    if (key.empty())
      return make_error("{}: header: expected tensor names, found an empty one", path);
    if (!value.is_object()) {
      return make_error("{}: expected an object (dtype, shape, data_offsets), found {}", object,
                        json_type(value));
    }
    for (const auto& [field, ignored] : value.items()) {
      if (field != "dtype" && field != "shape" && field != "data_offsets") {
        return make_error("{}: expected the fields dtype, shape and data_offsets, found '{}'",
                          object, field);
      }
    }
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!value.contains(field)) {
        return make_error("{}: expected a field '{}', found none", object, field);
      }
    }
    SafetensorsTensor tensor;
    tensor.name = key;
    tensor.file = &file->path_;
    const json& dtype = value["dtype"];
    const DtypeEntry* entry = nullptr;
    if (dtype.is_string()) {
      for (const DtypeEntry& e : kDtypes) {
        if (e.name == dtype.get_ref<const std::string&>()) entry = &e;
      }
    }
    if (entry == nullptr) {
      return make_error(
          "{}: dtype: expected one of BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, "
          "U32, F32, F64, I64, U64, found {}",
          object, dtype.dump());
    }
    tensor.dtype = entry->dtype;
    const json& shape = value["shape"];
    if (!shape.is_array() || shape.size() > kMaxSafetensorsDims) {
      return make_error("{}: shape: expected an array of at most {} dimensions, found {}", object,
                        kMaxSafetensorsDims, shape.dump());
    }
    uint64_t elements = 1;
    for (const json& dim : shape) {
      const auto d = as_size(dim, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
      if (!d) {
        return make_error("{}: shape: expected non-negative integers, found {}", object,
                          shape.dump());
      }
      if (__builtin_mul_overflow(elements, *d, &elements)) {
        return make_error("{}: shape {}: expected an element count below 2^64, found an overflow",
                          object, shape.dump());
      }
      tensor.shape.push_back(static_cast<int64_t>(*d));
    }
    uint64_t expected_bytes = 0;
    if (__builtin_mul_overflow(elements, static_cast<uint64_t>(entry->bytes), &expected_bytes) ||
        elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return make_error("{}: shape {} of {}: expected a byte size below 2^63, found an overflow",
                        object, shape.dump(), entry->name);
    }
    const json& offsets = value["data_offsets"];
    std::optional<uint64_t> begin, end;
    if (offsets.is_array() && offsets.size() == 2) {
      begin = as_size(offsets[0], std::numeric_limits<uint64_t>::max());
      end = as_size(offsets[1], std::numeric_limits<uint64_t>::max());
    }
    if (!begin || !end || *begin > *end) {
      return make_error("{}: data_offsets: expected [begin, end] with 0 <= begin <= end, found {}",
                        object, offsets.dump());
    }
    if (*end > data.size()) {
      return make_error(
          "{}: data_offsets [{}, {}]: expected them inside the {}-byte data section, found them "
          "past its end (file truncated?)",
          object, *begin, *end, data.size());
    }
    if (*end - *begin != expected_bytes) {
      return make_error("{}: data_offsets [{}, {}]: expected {} bytes (shape {} of {}), found {}",
                        object, *begin, *end, expected_bytes, shape.dump(), entry->name,
                        *end - *begin);
    }
    tensor.data = data.subspan(*begin, *end - *begin);
    file->tensors_.push_back(std::move(tensor));
  }

  // The format's rule: the tensors tile the data section exactly, in some order (no overlaps, no
  // gaps where other bytes could hide).
  std::sort(file->tensors_.begin(), file->tensors_.end(),
            [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
              return a.data.data() != b.data.data() ? a.data.data() < b.data.data()
                                                    : a.data.size() < b.data.size();
            });
  const uint8_t* expected = data.data();
  const SafetensorsTensor* previous = nullptr;
  for (const SafetensorsTensor& tensor : file->tensors_) {
    if (tensor.data.data() != expected) {
      const auto at = static_cast<uint64_t>(tensor.data.data() - data.data());
      const auto want = static_cast<uint64_t>(expected - data.data());
      if (at < want) {
        return make_error(
            "{}: tensor '{}': expected its data (offset {}) not to overlap tensor '{}' (ending at "
            "{}), found an overlap",
            path, tensor.name, at, previous->name, want);
      }
      return make_error(
          "{}: tensor '{}': expected its data to start at offset {} (right after {}), found {}: "
          "a gap of {} bytes",
          path, tensor.name, want, previous ? "tensor '" + previous->name + "'" : "the header", at,
          at - want);
    }
    expected += tensor.data.size();
    previous = &tensor;
  }
  if (expected != data.data() + data.size()) {
    return make_error(
        "{}: data section: expected the tensors to cover its {} bytes, found {} bytes after the "
        "last tensor",
        path, data.size(), data.data() + data.size() - expected);
  }
  for (size_t i = 0; i < file->tensors_.size(); ++i)
    file->index_.emplace(file->tensors_[i].name, i);
  return file;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Result<std::map<std::string, std::string>> parse_safetensors_index(std::string_view text,
                                                                   const std::string& source) {
  auto index = parse_strict_json(text, source);
  if (!index) return index.error();
  if (!index->is_object() || !index->contains("weight_map") ||
      !(*index)["weight_map"].is_object()) {
    return make_error("{}: expected an object with a \"weight_map\" object, found {}", source,
                      index->is_object() ? std::string("no such object") : json_type(*index));
  }
  std::map<std::string, std::string> map;
  for (const auto& [tensor, file] : (*index)["weight_map"].items()) {
    if (!file.is_string()) {
      return make_error("{}: weight_map '{}': expected a file name, found {}", source, tensor,
                        json_type(file));
    }
    const auto& name = file.get_ref<const std::string&>();
    if (name.empty() || name == "." || name == ".." ||
        name.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) {
      return make_error(
          "{}: weight_map '{}': expected a file name in the checkpoint's folder, found \"{}\"",
          source, tensor, name);
    }
    map.emplace(tensor, name);
  }
  return map;
}

Result<Checkpoint> Checkpoint::open(const std::string& dir) {
  namespace fs = std::filesystem;
  Checkpoint checkpoint;
  checkpoint.dir_ = dir;
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  std::error_code ec;
  if (fs::exists(index_path, ec)) {
    std::ifstream in(index_path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return make_error("{}: cannot read", index_path.string());
    auto map = parse_safetensors_index(text.str(), index_path.string());
    if (!map) return map.error();
    std::map<std::string, size_t> shard_of;  // file name → index into files_
    for (const auto& [tensor, shard] : *map) {
      if (shard_of.count(shard) != 0) continue;
      auto file = SafetensorsFile::open((fs::path(dir) / shard).string());
      if (!file) {
        return file.error().with_context(
            fmt::format("{}: shard '{}' (holding '{}')", index_path.string(), shard, tensor));
      }
      shard_of.emplace(shard, checkpoint.files_.size());
      checkpoint.files_.push_back(std::move(*file));
    }
    for (const auto& [tensor, shard] : *map) {
      const SafetensorsFile& file = *checkpoint.files_[shard_of.at(shard)];
      if (file.find(tensor) == nullptr) {
        return make_error("{}: tensor '{}': expected it in shard '{}', found no such tensor there",
                          index_path.string(), tensor, shard);
      }
    }
    for (const auto& file : checkpoint.files_) {
      const std::string shard = fs::path(file->path()).filename().string();
      for (const SafetensorsTensor& tensor : file->tensors()) {
        const auto it = map->find(tensor.name);
        if (it == map->end() || it->second != shard) {
          return make_error(
              "{}: tensor '{}': found in shard '{}', expected {} (the index: {})", file->path(),
              tensor.name, shard,
              it == map->end() ? std::string("no such tensor") : "it in '" + it->second + "'",
              index_path.string());
        }
      }
    }
  } else if (fs::exists(single, ec)) {
    auto file = SafetensorsFile::open(single.string());
    if (!file) return file.error();
    checkpoint.files_.push_back(std::move(*file));
  } else {
    return make_error(
        "{}: expected model.safetensors or model.safetensors.index.json (a Hugging Face "
        "checkpoint folder), found neither",
        dir);
  }
  for (const auto& file : checkpoint.files_) {
    for (const SafetensorsTensor& tensor : file->tensors()) {
      checkpoint.index_.emplace(tensor.name, &tensor);
      checkpoint.tensors_.push_back(&tensor);
    }
  }
  std::sort(
      checkpoint.tensors_.begin(), checkpoint.tensors_.end(),
      [](const SafetensorsTensor* a, const SafetensorsTensor* b) { return a->name < b->name; });
  return checkpoint;
}

const SafetensorsTensor* Checkpoint::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

std::vector<std::string> Checkpoint::files() const {
  std::vector<std::string> out;
  for (const auto& file : files_) out.push_back(file->path());
  return out;
}

Result<std::vector<float>> read_floats(const SafetensorsTensor& tensor) {
  const auto count = static_cast<size_t>(tensor.element_count());
  std::vector<float> out(count);
  switch (tensor.dtype) {
    case Dtype::kF32:
      std::memcpy(out.data(), tensor.data.data(), count * sizeof(float));
      return out;
    case Dtype::kF16:
    case Dtype::kBF16: {
      const bool f16 = tensor.dtype == Dtype::kF16;
      for (size_t i = 0; i < count; ++i) {
        uint16_t bits = 0;
        std::memcpy(&bits, tensor.data.data() + 2 * i, sizeof(bits));  // may be unaligned
        out[i] = f16 ? fp16_to_float(bits) : bf16_to_float(bits);
      }
      return out;
    }
    default:
      return make_error("{}: tensor '{}': expected dtype F32, F16 or BF16, found {}",
                        tensor.file ? *tensor.file : std::string("?"), tensor.name,
                        to_string(tensor.dtype));
  }
}

}  // namespace sherry::hf
