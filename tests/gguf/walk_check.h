// Checks a file the writer produced against what the test asked it to write, through MiniWalker
// (tests/gguf/mini_walker.h), not through gguf::Reader: every metadata key and value (bit-exact),
// every tensor's name, dims, type id and offset, the alignment, the data offset, zero padding,
// each tensor's bytes at the walker's offset, and the file's end. The expected offsets are
// computed here from the format's rule: the first tensor at 0, each next one at the previous
// end rounded up to the alignment.
#pragma once

#include <doctest/doctest.h>

#include <bit>
#include <string>
#include <vector>

#include "core/packed_tensor.h"
#include "runtime/gguf/gguf_value.h"
#include "tests/gguf/gguf_test_util.h"
#include "tests/gguf/mini_walker.h"

namespace sherry::gguf::testing {

struct WrittenTensor {
  std::string name;
  uint32_t type = 0;
  std::vector<uint64_t> dims;
  std::vector<uint8_t> bytes;
  // > 0: the test does not know the bytes (random weights drawn inside the writer), only how
  // many there are; they are not compared.
  uint64_t unknown_bytes = 0;

  uint64_t size() const { return unknown_bytes > 0 ? unknown_bytes : bytes.size(); }
};

struct WrittenFile {
  // kExact: the file holds exactly these keys in this order; kSubset: these keys (with these
  // values) are among the file's keys, for files whose other keys a test does not restate.
  enum class Metadata { kExact, kSubset };
  std::vector<std::pair<std::string, Value>> metadata;
  std::vector<WrittenTensor> tensors;
  Metadata mode = Metadata::kExact;
};

template <class T>
std::vector<uint8_t> bytes_of(const T* data, size_t count) {
  std::vector<uint8_t> out(count * sizeof(T));
  if (count != 0) std::memcpy(out.data(), data, out.size());
  return out;
}

// "" when the walked value is the expected one, bit for bit; else what differs.
inline std::string value_mismatch(const WalkValue& got, const Value& want) {
  const auto type = static_cast<uint32_t>(want.type);
  if (got.type != type)
    return "type " + std::to_string(got.type) + ", expected " + std::to_string(type);
  bool same = true;
  switch (got.type) {
    case kWalkUint8:
    case kWalkUint16:
    case kWalkUint32:
    case kWalkUint64:
      same = got.bits == std::get<uint64_t>(want.data);
      break;
    case kWalkInt8:
    case kWalkInt16:
    case kWalkInt32:
    case kWalkInt64:
      same = got.as_signed() == std::get<int64_t>(want.data);
      break;
    case kWalkFloat32:
      same = got.bits == std::bit_cast<uint32_t>(static_cast<float>(std::get<double>(want.data)));
      break;
    case kWalkFloat64:
      same = got.bits == std::bit_cast<uint64_t>(std::get<double>(want.data));
      break;
    case kWalkBool:
      same = got.bits == (std::get<bool>(want.data) ? 1u : 0u);
      break;
    case kWalkString:
      same = got.text == std::get<std::string>(want.data);
      break;
    case kWalkArray: {
      const Array& elements = std::get<Array>(want.data);
      if (got.element_type != static_cast<uint32_t>(want.array_type))
        return "array of type " + std::to_string(got.element_type);
      if (got.elements.size() != elements.size())
        return "array of " + std::to_string(got.elements.size()) + " elements, expected " +
               std::to_string(elements.size());
      for (size_t i = 0; i < elements.size(); ++i) {
        const std::string why = value_mismatch(got.elements[i], elements[i]);
        if (!why.empty()) return "element " + std::to_string(i) + ": " + why;
      }
      break;
    }
  }
  return same ? "" : "value bits " + std::to_string(got.bits) + " / text '" + got.text + "'";
}

// What a sherry-packed matrix adds to a file, from docs/gguf.md: the two keys (once per file),
// the codes as type 1250 of shape [cols, rows], the fp16 scales as F16 (type 1) of shape
// [groups per row, rows] ([1, rows] per channel) or [1] per tensor.
inline void add_sherry_written(WrittenFile& file, const std::string& weight_name,
                               const std::string& scale_name, const PackedTensor& packed) {
  const WeightLayout& layout = packed.layout;
  std::vector<uint64_t> scale_dims = {1};
  if (layout.granularity != ScaleGranularity::kTensor) {
    const int64_t groups =
        layout.granularity == ScaleGranularity::kGroup ? packed.cols / layout.group_size : 1;
    scale_dims = {static_cast<uint64_t>(groups), static_cast<uint64_t>(packed.rows)};
  }
  bool has_keys = false;
  for (const auto& kv : file.metadata) has_keys = has_keys || kv.first == "sherry.format_version";
  if (!has_keys) {
    file.metadata.emplace_back("sherry.format_version", make_uint(ValueType::kUint32, 1));
    file.metadata.emplace_back(
        "sherry.block_grouping",
        make_string(layout.grouping == BlockGrouping::kContiguous ? "contiguous" : "stride16"));
  }
  file.tensors.push_back({weight_name,
                          1250,
                          {static_cast<uint64_t>(packed.cols), static_cast<uint64_t>(packed.rows)},
                          packed.codes});
  file.tensors.push_back(
      {scale_name, 1, scale_dims, bytes_of(packed.scales.data(), packed.scales.size())});
}

inline bool all_zero(const std::vector<uint8_t>& bytes, uint64_t begin, uint64_t end) {
  for (uint64_t i = begin; i < end; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

inline void check_walk(const std::vector<uint8_t>& bytes, const WrittenFile& want) {
  MiniWalk walk;
  try {
    walk = MiniWalker(bytes).walk();
  } catch (const std::exception& e) {
    FAIL("MiniWalker: ", std::string(e.what()));
  }
  CHECK(walk.version == 3);
  uint64_t alignment = 32;
  for (const auto& [key, value] : want.metadata)
    if (key == "general.alignment") alignment = std::get<uint64_t>(value.data);
  CHECK(walk.alignment == alignment);
  if (want.mode == WrittenFile::Metadata::kExact) {
    REQUIRE(walk.metadata.size() == want.metadata.size());
    for (size_t i = 0; i < want.metadata.size(); ++i)
      CHECK_MESSAGE(walk.metadata[i].first == want.metadata[i].first, "key ", i);
  }
  for (const auto& [key, value] : want.metadata) {
    const WalkValue* got = walk.find(key);
    REQUIRE_MESSAGE(got != nullptr, "key ", key, " missing");
    const std::string why = value_mismatch(*got, value);
    CHECK_MESSAGE(why.empty(), "key ", key, ": ", why);
  }

  REQUIRE(walk.data_offset == (walk.end_of_infos + alignment - 1) / alignment * alignment);
  REQUIRE(walk.data_offset <= bytes.size());
  CHECK_MESSAGE(all_zero(bytes, walk.end_of_infos, walk.data_offset), "padding before the data");
  REQUIRE(walk.tensors.size() == want.tensors.size());
  uint64_t offset = 0, end = walk.data_offset;
  for (size_t i = 0; i < want.tensors.size(); ++i) {
    const WalkTensor& got = walk.tensors[i];
    const WrittenTensor& t = want.tensors[i];
    INFO("tensor ", i, " ", t.name);
    CHECK(got.name == t.name);
    CHECK(got.dims == t.dims);
    CHECK(got.type == t.type);
    REQUIRE(got.offset == offset);
    const uint64_t at = walk.data_offset + got.offset;
    REQUIRE(at + t.size() <= bytes.size());
    CHECK_MESSAGE(all_zero(bytes, end, at), "padding before the tensor");
    if (t.unknown_bytes == 0) {
      CHECK(std::equal(t.bytes.begin(), t.bytes.end(), bytes.begin() + static_cast<int64_t>(at)));
    }
    end = at + t.size();
    offset = (got.offset + t.size() + alignment - 1) / alignment * alignment;
  }
  // At most padding after the last tensor.
  CHECK(bytes.size() >= end);
  CHECK(bytes.size() - end < alignment);
  CHECK(all_zero(bytes, end, bytes.size()));
}

inline void check_walk(const std::string& path, const WrittenFile& want) {
  INFO("file ", path);
  check_walk(read_file(path), want);
}

}  // namespace sherry::gguf::testing
