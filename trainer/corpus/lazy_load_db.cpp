#include "trainer/corpus/lazy_load_db.h"

#include <cmath>

#include "trainer/corpus/decompress.h"
#include "trainer/corpus/file_io.h"

namespace sherry::corpus {
namespace {

// R keeps lazy-load objects far below this; a larger size field means corrupt data.
constexpr size_t kMaxObjectBytes = size_t{1} << 30;

Result<int> compression_kind(const r::Object* value, const std::string& rdx) {
  if (value == nullptr) return 1;  // very old databases have no "compressed" entry: zlib
  double kind = -1;
  if ((value->type == r::SexpType::kLogical || value->type == r::SexpType::kInteger) &&
      value->ints.size() == 1)
    kind = value->ints[0];
  else if (value->type == r::SexpType::kReal && value->reals.size() == 1)
    kind = value->reals[0];
  if (kind != 1 && kind != 2 && kind != 3)
    return make_error(
        "{}: index entry \"compressed\": expected TRUE, 2 or 3, found {}", rdx,
        value->length() == 1
            ? fmt::format("{}", kind)
            : fmt::format("a {} of length {}", r::sexp_type_name(value->type), value->length()));
  return static_cast<int>(kind);
}

}  // namespace

Result<LazyLoadDb> LazyLoadDb::open(const std::string& base) {
  auto rdx = read_file_bytes(base + ".rdx");
  if (!rdx) return rdx.error();
  auto rdb = read_file_bytes(base + ".rdb");
  if (!rdb) return rdb.error();
  return parse(*rdx, std::move(*rdb), base);
}

Result<LazyLoadDb> LazyLoadDb::parse(std::span<const uint8_t> rdx_bytes, std::vector<uint8_t> rdb,
                                     const std::string& base) {
  const std::string rdx_name = base + ".rdx";
  // saveRDS() writes the index gzip-compressed by default; accept every form it can take.
  auto serialized =
      decompress(sniff_compression(rdx_bytes), rdx_bytes, 0, rdx_name, size_t{64} << 20);
  if (!serialized) return serialized.error();
  auto index = r::unserialize(*serialized, rdx_name);
  if (!index) return index.error();
  const r::Object& list = **index;
  if (list.type != r::SexpType::kList)
    return make_error("{}: index: expected a list, found a {}", rdx_name,
                      r::sexp_type_name(list.type));
  const std::vector<std::string> names = list.names();
  const r::Object* variables = nullptr;
  const r::Object* compressed = nullptr;
  for (size_t i = 0; i < names.size() && i < list.items.size(); ++i) {
    if (names[i] == "variables") variables = list.items[i].get();
    if (names[i] == "compressed") compressed = list.items[i].get();
  }
  if (variables == nullptr || variables->type != r::SexpType::kList)
    return make_error("{}: index entry \"variables\": expected a named list, found {}", rdx_name,
                      variables == nullptr ? std::string("none")
                                           : std::string(r::sexp_type_name(variables->type)));
  LazyLoadDb db;
  db.base_ = base;
  auto kind = compression_kind(compressed, rdx_name);
  if (!kind) return kind.error();
  db.compression_ = *kind;
  const std::vector<std::string> variable_names = variables->names();
  if (variable_names.size() != variables->items.size())
    return make_error("{}: index entry \"variables\": expected {} names, found {}", rdx_name,
                      variables->items.size(), variable_names.size());
  for (size_t i = 0; i < variable_names.size(); ++i) {
    const r::Object& position = *variables->items[i];
    if (position.type != r::SexpType::kInteger || position.ints.size() != 2 ||
        position.ints[0] < 0 || position.ints[1] < 0)
      return make_error(
          "{}: variable \"{}\": expected (offset, length) as 2 non-negative integers, found a {} "
          "of length {}",
          rdx_name, variable_names[i], r::sexp_type_name(position.type), position.length());
    LazyLoadEntry entry{variable_names[i], static_cast<uint64_t>(position.ints[0]),
                        static_cast<uint64_t>(position.ints[1])};
    if (entry.offset > rdb.size() || entry.length > rdb.size() - entry.offset)
      return make_error(
          "{}.rdb: variable \"{}\": expected bytes {}..{} inside the file, found a file of {} "
          "bytes",
          base, entry.name, entry.offset, entry.offset + entry.length, rdb.size());
    db.variables_.push_back(std::move(entry));
  }
  db.rdb_ = std::move(rdb);
  return db;
}

Result<r::ObjectPtr> LazyLoadDb::load(std::string_view variable) const {
  const LazyLoadEntry* entry = nullptr;
  for (const auto& candidate : variables_)
    if (candidate.name == variable) entry = &candidate;
  if (entry == nullptr) {
    std::string known;
    for (const auto& candidate : variables_) known += (known.empty() ? "" : ", ") + candidate.name;
    return make_error("{}.rdx: variable \"{}\": expected one of [{}], found none", base_, variable,
                      known);
  }
  const std::string what = fmt::format("{}.rdb: variable \"{}\"", base_, entry->name);
  std::span<const uint8_t> bytes(rdb_.data() + entry->offset, entry->length);
  const size_t header = compression_ == 1 ? 4 : 5;
  if (bytes.size() < header)
    return make_error("{}: expected a {}-byte header, found {} bytes", what, header, bytes.size());
  const size_t size = (size_t{bytes[0]} << 24) | (size_t{bytes[1]} << 16) |
                      (size_t{bytes[2]} << 8) | size_t{bytes[3]};
  if (size > kMaxObjectBytes)
    return make_error("{}: uncompressed size: expected at most {} bytes, found {}", what,
                      kMaxObjectBytes, size);
  Compression method = Compression::kZlib;
  if (compression_ != 1) {
    const char type = static_cast<char>(bytes[4]);
    if (type == '0')
      method = Compression::kNone;
    else if (type == '1')
      method = Compression::kZlib;
    else if (type == '2')
      method = Compression::kBzip2;
    else if (type == 'Z' && compression_ == 3)
      method = Compression::kXz;
    else
      return make_error("{}: compression type byte: expected {}, found {:#04x}", what,
                        compression_ == 3 ? "'0', '1', '2' or 'Z'" : "'0', '1' or '2'", bytes[4]);
  }
  auto serialized = decompress(method, bytes.subspan(header), size, what);
  if (!serialized) return serialized.error();
  return r::unserialize(*serialized, what);
}

}  // namespace sherry::corpus
