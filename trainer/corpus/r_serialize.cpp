#include "trainer/corpus/r_serialize.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace sherry::corpus::r {
namespace {

// Serialization item types that are not SEXPTYPEs (R's serialize.c).
constexpr int kRefSxp = 255;
constexpr int kNilValueSxp = 254;
constexpr int kMaxDepth = 256;

// CHARSXP encoding bits, in the "levels" field (flags >> 12).
constexpr int kBytesMask = 1 << 1;
constexpr int kLatin1Mask = 1 << 2;
constexpr int kUtf8Mask = 1 << 3;
constexpr int kAsciiMask = 1 << 6;

constexpr int kHasAttrBit = 1 << 9;
constexpr int kHasTagBit = 1 << 10;

std::string latin1_to_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

class Unserializer {
 public:
  Unserializer(std::span<const uint8_t> bytes, const std::string& name)
      : bytes_(bytes), name_(name) {}

  Result<ObjectPtr> run() {
    if (bytes_.size() < 2 || bytes_[0] != 'X' || bytes_[1] != '\n')
      return error_at("format header: expected \"X\\n\" (XDR serialization), found {}",
                      bytes_.size() < 2
                          ? std::string("fewer than 2 bytes")
                          : fmt::format("bytes {:#04x} {:#04x}", bytes_[0], bytes_[1]));
    position_ = 2;
    int32_t version = 0, writer_version = 0, reader_version = 0;
    SHERRY_TRY(read_int(&version, "format version"));
    SHERRY_TRY(read_int(&writer_version, "writer R version"));
    SHERRY_TRY(read_int(&reader_version, "minimal reader R version"));
    if (version != 2 && version != 3)
      return error_at("format version: expected 2 or 3, found {}", version);
    if (version == 3) {
      int32_t length = 0;
      SHERRY_TRY(read_int(&length, "native encoding length"));
      if (length < 0 || length > 64)
        return error_at("native encoding length: expected 0..64, found {}", length);
      std::string encoding;
      SHERRY_TRY(read_bytes(static_cast<size_t>(length), &encoding, "native encoding"));
      native_latin1_ = encoding == "latin1" || encoding == "ISO-8859-1" || encoding == "CP1252";
    }
    auto object = read_item(0);
    if (!object) return object.error();
    if (position_ != bytes_.size())
      return error_at("end of data: expected the object to end at byte {}, found {} more bytes",
                      position_, bytes_.size() - position_);
    return object;
  }

 private:
  template <class... Args>
  Error error_at(fmt::format_string<Args...> format, Args&&... args) const {
    return Error(fmt::format("{}: R serialization at byte {}: ", name_, position_) +
                 fmt::format(format, std::forward<Args>(args)...));
  }

  Status need(size_t count, std::string_view what) const {
    if (bytes_.size() - position_ < count)
      return error_at("{}: expected {} more bytes, found {} (truncated data)", what, count,
                      bytes_.size() - position_);
    return Status::success();
  }

  Status read_int(int32_t* value, std::string_view what) {
    SHERRY_TRY(need(4, what));
    const uint8_t* p = bytes_.data() + position_;
    *value = static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                                  (uint32_t{p[2]} << 8) | uint32_t{p[3]});
    position_ += 4;
    return Status::success();
  }

  Status read_bytes(size_t count, std::string* out, std::string_view what) {
    SHERRY_TRY(need(count, what));
    out->assign(reinterpret_cast<const char*>(bytes_.data() + position_), count);
    position_ += count;
    return Status::success();
  }

  // A vector length; long lengths (-1 then two ints) are accepted when they fit the data.
  // `min_element_bytes` bounds the length by the bytes left, so a corrupt length cannot make
  // us allocate more than the input's size.
  Status read_length(size_t* length, size_t min_element_bytes, std::string_view what) {
    int32_t value = 0;
    SHERRY_TRY(read_int(&value, what));
    uint64_t full = 0;
    if (value == -1) {
      int32_t upper = 0, lower = 0;
      SHERRY_TRY(read_int(&upper, what));
      SHERRY_TRY(read_int(&lower, what));
      full = (static_cast<uint64_t>(static_cast<uint32_t>(upper)) << 32) |
             static_cast<uint32_t>(lower);
    } else if (value < 0) {
      return error_at("{}: expected a length >= 0, found {}", what, value);
    } else {
      full = static_cast<uint64_t>(value);
    }
    const uint64_t left = bytes_.size() - position_;
    if (min_element_bytes > 0 && full > left / min_element_bytes)
      return error_at("{}: length {} needs at least {} bytes, only {} left", what, full,
                      full * min_element_bytes, left);
    *length = static_cast<size_t>(full);
    return Status::success();
  }

  Result<std::optional<std::string>> read_charsxp(int32_t flags) {
    int32_t length = 0;
    SHERRY_TRY(read_int(&length, "CHARSXP length"));
    if (length == -1) return std::optional<std::string>();  // NA_STRING
    if (length < 0) return error_at("CHARSXP length: expected >= -1, found {}", length);
    std::string text;
    SHERRY_TRY(read_bytes(static_cast<size_t>(length), &text, "CHARSXP bytes"));
    const int levels = flags >> 12;
    if ((levels & kLatin1Mask) ||
        (native_latin1_ && !(levels & (kUtf8Mask | kAsciiMask | kBytesMask))))
      text = latin1_to_utf8(text);
    return std::optional<std::string>(std::move(text));
  }

  // Attributes are a pairlist of tagged values.
  Status read_attributes(Object* object, int depth) {
    auto list = read_item(depth + 1);
    if (!list) return list.error();
    const Object& pairs = **list;
    if (pairs.type == SexpType::kNil) return Status::success();
    if (pairs.type != SexpType::kPairList)
      return error_at("attributes: expected a pairlist, found {}", sexp_type_name(pairs.type));
    for (size_t i = 0; i < pairs.items.size(); ++i)
      object->attributes.emplace_back(pairs.tags[i], pairs.items[i]);
    return Status::success();
  }

  Result<ObjectPtr> read_item(int depth) {
    if (depth > kMaxDepth)
      return error_at("nesting: expected at most {} levels, found deeper", kMaxDepth);
    int32_t flags = 0;
    SHERRY_TRY(read_int(&flags, "item flags"));
    const int type = flags & 0xFF;
    const bool has_attr = (flags & kHasAttrBit) != 0;
    const bool has_tag = (flags & kHasTagBit) != 0;
    auto object = std::make_shared<Object>();

    switch (type) {
      case kNilValueSxp:
        return ObjectPtr(std::make_shared<Object>());
      case kRefSxp: {
        int32_t index = flags >> 8;
        if (index == 0) SHERRY_TRY(read_int(&index, "reference index"));
        if (index < 1 || static_cast<size_t>(index) > references_.size())
          return error_at("reference: expected an index in 1..{}, found {}", references_.size(),
                          index);
        return references_[static_cast<size_t>(index) - 1];
      }
      case static_cast<int>(SexpType::kSymbol): {
        int32_t char_flags = 0;
        SHERRY_TRY(read_int(&char_flags, "symbol name flags"));
        if ((char_flags & 0xFF) != static_cast<int>(SexpType::kChar))
          return error_at("symbol name: expected a CHARSXP (9), found type {}", char_flags & 0xFF);
        auto text = read_charsxp(char_flags);
        if (!text) return text.error();
        if (!text->has_value()) return error_at("symbol name: expected a string, found NA");
        object->type = SexpType::kSymbol;
        object->symbol = std::move(**text);
        references_.push_back(object);
        return ObjectPtr(object);
      }
      case static_cast<int>(SexpType::kPairList): {
        // A pairlist cell is (attributes?, tag?, car, cdr); walk the cdr chain iteratively.
        object->type = SexpType::kPairList;
        int32_t cell_flags = flags;
        while (true) {
          if (cell_flags & kHasAttrBit) {
            Object ignored;  // attributes on a pairlist cell carry nothing we use
            SHERRY_TRY(read_attributes(&ignored, depth));
          }
          std::string tag;
          if (cell_flags & kHasTagBit) {
            auto tag_object = read_item(depth + 1);
            if (!tag_object) return tag_object.error();
            if ((*tag_object)->type != SexpType::kSymbol)
              return error_at("pairlist tag: expected a symbol, found {}",
                              sexp_type_name((*tag_object)->type));
            tag = (*tag_object)->symbol;
          }
          auto value = read_item(depth + 1);
          if (!value) return value.error();
          object->items.push_back(*value);
          object->tags.push_back(std::move(tag));
          SHERRY_TRY(read_int(&cell_flags, "pairlist cdr flags"));
          const int cdr_type = cell_flags & 0xFF;
          if (cdr_type == kNilValueSxp) break;
          if (cdr_type != static_cast<int>(SexpType::kPairList))
            return error_at("pairlist cdr: expected another cell or NULL, found type {}", cdr_type);
        }
        return ObjectPtr(object);
      }
      case static_cast<int>(SexpType::kLogical):
      case static_cast<int>(SexpType::kInteger): {
        object->type = static_cast<SexpType>(type);
        size_t length = 0;
        SHERRY_TRY(read_length(&length, 4, "integer vector length"));
        object->ints.resize(length);
        for (size_t i = 0; i < length; ++i) SHERRY_TRY(read_int(&object->ints[i], "integer"));
        break;
      }
      case static_cast<int>(SexpType::kReal): {
        object->type = SexpType::kReal;
        size_t length = 0;
        SHERRY_TRY(read_length(&length, 8, "double vector length"));
        object->reals.resize(length);
        for (size_t i = 0; i < length; ++i) {
          int32_t high = 0, low = 0;
          SHERRY_TRY(read_int(&high, "double"));
          SHERRY_TRY(read_int(&low, "double"));
          const uint64_t bits = (static_cast<uint64_t>(static_cast<uint32_t>(high)) << 32) |
                                static_cast<uint32_t>(low);
          object->reals[i] = std::bit_cast<double>(bits);
        }
        break;
      }
      case static_cast<int>(SexpType::kString): {
        object->type = SexpType::kString;
        size_t length = 0;
        SHERRY_TRY(read_length(&length, 8, "character vector length"));
        object->strings.resize(length);
        for (size_t i = 0; i < length; ++i) {
          int32_t char_flags = 0;
          SHERRY_TRY(read_int(&char_flags, "character vector element flags"));
          if ((char_flags & 0xFF) != static_cast<int>(SexpType::kChar))
            return error_at("character vector element {}: expected a CHARSXP (9), found type {}", i,
                            char_flags & 0xFF);
          auto text = read_charsxp(char_flags);
          if (!text) return text.error();
          object->strings[i] = std::move(*text);
        }
        break;
      }
      case static_cast<int>(SexpType::kList): {
        object->type = SexpType::kList;
        size_t length = 0;
        SHERRY_TRY(read_length(&length, 4, "list length"));
        object->items.reserve(length);
        for (size_t i = 0; i < length; ++i) {
          auto item = read_item(depth + 1);
          if (!item) return item.error();
          object->items.push_back(*item);
        }
        break;
      }
      default:
        return error_at(
            "item type: expected one of NULL, symbol, pairlist, logical, integer, double, "
            "character or list, found SEXPTYPE {}",
            type);
    }
    if (has_tag)
      return error_at("item flags: a tag on a {} is not expected", sexp_type_name(object->type));
    if (has_attr) SHERRY_TRY(read_attributes(object.get(), depth));
    return ObjectPtr(object);
  }

  std::span<const uint8_t> bytes_;
  const std::string& name_;
  size_t position_ = 0;
  bool native_latin1_ = false;
  std::vector<ObjectPtr> references_;
};

}  // namespace

const Object* Object::attribute(std::string_view name) const {
  for (const auto& [key, value] : attributes)
    if (key == name) return value.get();
  return nullptr;
}

std::vector<std::string> Object::names() const {
  std::vector<std::string> out;
  const Object* names = attribute("names");
  if (names == nullptr || names->type != SexpType::kString) return out;
  for (const auto& name : names->strings) out.push_back(name.value_or(""));
  return out;
}

bool Object::inherits(std::string_view name) const {
  const Object* classes = attribute("class");
  if (classes == nullptr || classes->type != SexpType::kString) return false;
  return std::any_of(classes->strings.begin(), classes->strings.end(),
                     [&](const auto& value) { return value && *value == name; });
}

size_t Object::length() const {
  switch (type) {
    case SexpType::kNil:
      return 0;
    case SexpType::kSymbol:
      return 1;
    case SexpType::kChar:
      return 1;
    case SexpType::kLogical:
    case SexpType::kInteger:
      return ints.size();
    case SexpType::kReal:
      return reals.size();
    case SexpType::kString:
      return strings.size();
    case SexpType::kPairList:
    case SexpType::kList:
      return items.size();
  }
  return 0;
}

std::string_view sexp_type_name(SexpType type) {
  switch (type) {
    case SexpType::kNil:
      return "NULL";
    case SexpType::kSymbol:
      return "symbol";
    case SexpType::kPairList:
      return "pairlist";
    case SexpType::kChar:
      return "CHARSXP";
    case SexpType::kLogical:
      return "logical vector";
    case SexpType::kInteger:
      return "integer vector";
    case SexpType::kReal:
      return "double vector";
    case SexpType::kString:
      return "character vector";
    case SexpType::kList:
      return "list";
  }
  return "?";
}

Result<ObjectPtr> unserialize(std::span<const uint8_t> bytes, const std::string& name) {
  return Unserializer(bytes, name).run();
}

}  // namespace sherry::corpus::r
