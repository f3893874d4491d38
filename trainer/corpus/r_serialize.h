// A minimal reader of R's serialization format (XDR, versions 2 and 3): the types R data sets
// are made of. Enough to read janeaustenr's lazy-load database without an R install.
//
// Supported: NULL, symbols, pairlists (attributes), logical, integer, double, character and
// generic vectors (lists, data frames, factors), CHARSXP with NA and the UTF-8, Latin-1, bytes
// and ASCII encodings, references to earlier symbols. Anything else is a clear error.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace sherry::corpus::r {

// SEXPTYPE numbers as R writes them.
enum class SexpType : uint8_t {
  kNil = 0,
  kSymbol = 1,
  kPairList = 2,
  kChar = 9,
  kLogical = 10,
  kInteger = 13,
  kReal = 14,
  kString = 16,
  kList = 19,
};

inline constexpr int32_t kNaInteger = INT32_MIN;  // NA for integer and logical vectors

struct Object;
using ObjectPtr = std::shared_ptr<const Object>;

struct Object {
  SexpType type = SexpType::kNil;
  std::string symbol;                               // kSymbol: its name
  std::vector<int32_t> ints;                        // kLogical, kInteger
  std::vector<double> reals;                        // kReal
  std::vector<std::optional<std::string>> strings;  // kString, UTF-8; nullopt is NA
  std::vector<ObjectPtr> items;                     // kList elements, kPairList values
  std::vector<std::string> tags;                    // kPairList: tag per item ("" if none)
  std::vector<std::pair<std::string, ObjectPtr>> attributes;

  const Object* attribute(std::string_view name) const;  // nullptr when absent
  // The "names" attribute as strings (empty when absent or not a character vector).
  std::vector<std::string> names() const;
  // "class" attribute contains `name`.
  bool inherits(std::string_view name) const;
  size_t length() const;
};

std::string_view sexp_type_name(SexpType type);

// Parses one serialized object ("X\n" header, XDR). `name` is used in errors, e.g.
// "Rdata.rdb: object emma".
Result<ObjectPtr> unserialize(std::span<const uint8_t> bytes, const std::string& name);

}  // namespace sherry::corpus::r
