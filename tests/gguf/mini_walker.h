// An independent minimal GGUF v3 parser for the tests, written from the format description
// (ggml's docs/gguf.md; docs/gguf.md §1 here) and sharing no code with runtime/gguf: it includes
// nothing from there, so a writer bug the project's reader shares cannot hide behind it. It
// checks nothing beyond staying inside the buffer and knowing the value types: it throws
// std::runtime_error on an overrun, a wrong magic or an unknown value type.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sherry::gguf::testing {

// GGUF metadata value type ids (the format's numbering).
enum WalkType : uint32_t {
  kWalkUint8 = 0,
  kWalkInt8 = 1,
  kWalkUint16 = 2,
  kWalkInt16 = 3,
  kWalkUint32 = 4,
  kWalkInt32 = 5,
  kWalkFloat32 = 6,
  kWalkBool = 7,
  kWalkString = 8,
  kWalkArray = 9,
  kWalkUint64 = 10,
  kWalkInt64 = 11,
  kWalkFloat64 = 12,
};

struct WalkValue {
  uint32_t type = 0;
  uint64_t bits = 0;  // a scalar's little-endian bytes, zero-extended (floats: their bit pattern)
  std::string text;   // kWalkString
  uint32_t element_type = 0;        // kWalkArray
  std::vector<WalkValue> elements;  // kWalkArray

  // A signed scalar's value (sign-extended from its width).
  int64_t as_signed() const {
    const int width = type == kWalkInt8    ? 8
                      : type == kWalkInt16 ? 16
                      : type == kWalkInt32 ? 32
                                           : 64;
    if (width == 64) return static_cast<int64_t>(bits);
    const uint64_t sign = uint64_t{1} << (width - 1);
    return static_cast<int64_t>((bits ^ sign) - sign);
  }
};

struct WalkTensor {
  std::string name;
  std::vector<uint64_t> dims;
  uint32_t type = 0;
  uint64_t offset = 0;  // from the start of the data section
};

struct MiniWalk {
  uint32_t version = 0;
  std::vector<std::pair<std::string, WalkValue>> metadata;
  std::vector<WalkTensor> tensors;
  uint64_t alignment = 32;    // general.alignment when it is a uint32, else 32
  uint64_t end_of_infos = 0;  // the first byte after the last tensor info
  uint64_t data_offset = 0;   // end_of_infos rounded up to the alignment

  const WalkValue* find(std::string_view key) const {
    for (const auto& [name, value] : metadata)
      if (name == key) return &value;
    return nullptr;
  }
};

class MiniWalker {
 public:
  explicit MiniWalker(std::span<const uint8_t> bytes) : b_(bytes) {}

  MiniWalk walk() {
    MiniWalk out;
    if (take(4) != 0x46554747) throw std::runtime_error("not a GGUF file (magic)");
    out.version = static_cast<uint32_t>(take(4));
    const uint64_t tensor_count = take(8);
    const uint64_t kv_count = take(8);
    for (uint64_t i = 0; i < kv_count; ++i) {
      std::string key = text();
      const auto type = static_cast<uint32_t>(take(4));
      out.metadata.emplace_back(std::move(key), value(type));
    }
    if (const WalkValue* a = out.find("general.alignment"); a != nullptr && a->type == kWalkUint32)
      out.alignment = a->bits;
    for (uint64_t t = 0; t < tensor_count; ++t) {
      WalkTensor info;
      info.name = text();
      const uint64_t dims = take(4);
      for (uint64_t d = 0; d < dims; ++d) info.dims.push_back(take(8));
      info.type = static_cast<uint32_t>(take(4));
      info.offset = take(8);
      out.tensors.push_back(std::move(info));
    }
    out.end_of_infos = p_;
    out.data_offset =
        out.alignment == 0 ? p_ : (p_ + out.alignment - 1) / out.alignment * out.alignment;
    return out;
  }

 private:
  // An unsigned little-endian integer of `size` bytes.
  uint64_t take(size_t size) {
    if (size > b_.size() - p_) throw std::runtime_error("overrun at byte " + std::to_string(p_));
    uint64_t v = 0;
    for (size_t i = 0; i < size; ++i) v |= static_cast<uint64_t>(b_[p_ + i]) << (8 * i);
    p_ += size;
    return v;
  }
  std::string text() {
    const uint64_t n = take(8);
    if (n > b_.size() - p_)
      throw std::runtime_error("string overruns at byte " + std::to_string(p_));
    std::string s(reinterpret_cast<const char*>(b_.data() + p_), n);
    p_ += n;
    return s;
  }
  WalkValue value(uint32_t type) {
    // Bytes of each scalar type, by id; 0 for string and array.
    static constexpr size_t kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    WalkValue v;
    v.type = type;
    if (type == kWalkString) {
      v.text = text();
    } else if (type == kWalkArray) {
      v.element_type = static_cast<uint32_t>(take(4));
      const uint64_t n = take(8);
      if (n > b_.size() - p_) throw std::runtime_error("array count overruns");  // ≥ 1 byte each
      v.elements.reserve(n);
      for (uint64_t i = 0; i < n; ++i) v.elements.push_back(value(v.element_type));
    } else if (type < std::size(kSizes)) {
      v.bits = take(kSizes[type]);
    } else {
      throw std::runtime_error("unknown value type " + std::to_string(type));
    }
    return v;
  }

  std::span<const uint8_t> b_;
  size_t p_ = 0;
};

}  // namespace sherry::gguf::testing
