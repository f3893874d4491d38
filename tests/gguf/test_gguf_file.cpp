// Writer → Reader round trips of every value type and tensor type, typed look-ups, atomic writes.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <random>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "tests/gguf/gguf_test_util.h"
#include "tests/gguf/walk_check.h"

namespace sherry::gguf {
namespace {

using testing::check_walk;
using testing::TempPath;
using testing::WrittenFile;

// Every value type, plus arrays of each scalar type, an empty array and an array of arrays.
std::vector<std::pair<std::string, Value>> all_values() {
  std::vector<std::pair<std::string, Value>> values = {
      {"t.u8", make_uint(ValueType::kUint8, 255)},
      {"t.i8", make_int(ValueType::kInt8, -128)},
      {"t.u16", make_uint(ValueType::kUint16, 65535)},
      {"t.i16", make_int(ValueType::kInt16, -32768)},
      {"t.u32", make_uint(ValueType::kUint32, 4000000000u)},
      {"t.i32", make_int(ValueType::kInt32, -2000000000)},
      {"t.f32", make_float(ValueType::kFloat32, 0.1)},
      {"t.bool", make_bool(true)},
      {"t.string", make_string("héllo\n\0world")},
      {"t.u64", make_uint(ValueType::kUint64, UINT64_MAX)},
      {"t.i64", make_int(ValueType::kInt64, INT64_MIN)},
      {"t.f64", make_float(ValueType::kFloat64, 1e300)},
      {"t.empty_string", make_string("")},
      {"t.empty_array", make_array(ValueType::kFloat32, {})},
  };
  const Value scalars[] = {
      make_uint(ValueType::kUint8, 7),
      make_int(ValueType::kInt8, -7),
      make_uint(ValueType::kUint16, 700),
      make_int(ValueType::kInt16, -700),
      make_uint(ValueType::kUint32, 70000),
      make_int(ValueType::kInt32, -70000),
      make_float(ValueType::kFloat32, 2.5),
      make_bool(false),
      make_string("piece"),
      make_uint(ValueType::kUint64, 1ull << 40),
      make_int(ValueType::kInt64, -(1ll << 40)),
      make_float(ValueType::kFloat64, -0.125),
  };
  for (const Value& scalar : scalars) {
    values.emplace_back("t.array_of_" + value_type_name(scalar.type),
                        make_array(scalar.type, {scalar, scalar, scalar}));
  }
  Array inner = {make_array(ValueType::kInt32, {make_int(ValueType::kInt32, 1)}),
                 make_array(ValueType::kInt32, {})};
  values.emplace_back("t.array_of_arrays", make_array(ValueType::kArray, std::move(inner)));
  return values;
}

struct ExpectedTensor {
  std::string name;
  TensorType type;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// One tensor of every type in the table, with 1 to 4 dimensions and random bytes.
std::vector<ExpectedTensor> all_tensor_types(std::mt19937& rng) {
  std::vector<ExpectedTensor> tensors;
  int index = 0;
  for (uint32_t id = 0; id < 2000; ++id) {
    const TensorTypeTraits* traits = tensor_type_traits(id);
    if (traits == nullptr) continue;
    std::vector<int64_t> shape = {traits->block_weights * (1 + index % 3)};
    for (int d = 1; d <= index % 4; ++d) shape.push_back(1 + (index + d) % 3);
    int64_t blocks = shape[0] / traits->block_weights;
    for (size_t d = 1; d < shape.size(); ++d) blocks *= shape[d];
    std::vector<uint8_t> bytes(static_cast<size_t>(blocks * traits->block_bytes));
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
    tensors.push_back({fmt::format("tensor.{}.{}", index, traits->name),
                       static_cast<TensorType>(id), shape, std::move(bytes)});
    ++index;
  }
  return tensors;
}

void check_round_trip(const Reader& reader,
                      const std::vector<std::pair<std::string, Value>>& values,
                      const std::vector<ExpectedTensor>& tensors) {
  CHECK(reader.version() == kVersion);
  REQUIRE(reader.metadata().size() == values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    INFO("key ", values[i].first);
    CHECK(reader.metadata()[i].first == values[i].first);
    CHECK(reader.metadata()[i].second == values[i].second);
  }
  REQUIRE(reader.tensors().size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorInfo& info = reader.tensors()[i];
    INFO("tensor ", tensors[i].name);
    CHECK(info.name == tensors[i].name);
    CHECK(info.type == tensors[i].type);
    CHECK(info.shape == tensors[i].shape);
    CHECK(info.offset % reader.alignment() == 0);
    REQUIRE(info.byte_size == tensors[i].bytes.size());
    CHECK(std::equal(tensors[i].bytes.begin(), tensors[i].bytes.end(), info.data));
    CHECK(reader.find_tensor(info.name) == &info);
  }
}

TEST_CASE("every value type and every tensor type survive a write and a read") {
  std::mt19937 rng(1234);
  const auto values = all_values();
  const auto tensors = all_tensor_types(rng);
  CHECK(tensors.size() == 34);
  for (uint32_t alignment : {0u, 1u, 64u}) {  // 0: general.alignment not set (default 32)
    INFO("alignment ", alignment);
    Writer writer;
    auto expected_values = values;
    if (alignment != 0) {
      expected_values.emplace_back(std::string(names::kAlignment),
                                   make_uint(ValueType::kUint32, alignment));
    }
    for (const auto& [key, value] : expected_values) writer.set(key, value);
    for (const auto& t : tensors) writer.add_tensor(t.name, t.type, t.shape, t.bytes);
    TempPath path("round_trip.gguf");
    REQUIRE(writer.write(path.str()).ok());
    // The independent walk first, so a writer bug the reader would also trip on is named by it.
    WrittenFile written{expected_values, {}};
    for (const auto& t : tensors)
      written.tensors.push_back(
          {t.name, static_cast<uint32_t>(t.type), {t.shape.begin(), t.shape.end()}, t.bytes});
    check_walk(path.str(), written);

    auto mapped = Reader::open(path.str());
    REQUIRE_MESSAGE(mapped.ok(), mapped.error().message());
    CHECK((*mapped)->alignment() == (alignment == 0 ? kDefaultAlignment : alignment));
    check_round_trip(**mapped, expected_values, tensors);

    const std::vector<uint8_t> bytes = testing::read_file(path.str());
    auto parsed = Reader::parse(bytes, "memory");
    REQUIRE_MESSAGE(parsed.ok(), parsed.error().message());
    check_round_trip(**parsed, expected_values, tensors);
  }
}

TEST_CASE("the type table has the ggml block sizes") {
  struct Row {
    TensorType type;
    int64_t block_weights, block_bytes;
  };
  const Row rows[] = {
      {TensorType::kF32, 1, 4},       {TensorType::kF16, 1, 2},
      {TensorType::kBF16, 1, 2},      {TensorType::kQ4_0, 32, 18},
      {TensorType::kQ8_0, 32, 34},    {TensorType::kQ4_K, 256, 144},
      {TensorType::kQ6_K, 256, 210},  {TensorType::kIQ4_XS, 256, 136},
      {TensorType::kTQ1_0, 256, 54},  {TensorType::kTQ2_0, 256, 66},
      {TensorType::kSTQ1_0, 256, 42}, {TensorType::kSTQ1_0_Released, 256, 42},
      {TensorType::kSherry, 32, 5},
  };
  for (const Row& row : rows) {
    const TensorTypeTraits* traits = tensor_type_traits(row.type);
    REQUIRE(traits != nullptr);
    CHECK(traits->block_weights == row.block_weights);
    CHECK(traits->block_bytes == row.block_bytes);
  }
  CHECK(tensor_type_traits(4) == nullptr);  // Q4_2, removed from ggml
  CHECK(tensor_type_name(4) == "unknown type 4");
  CHECK(tensor_type_name(TensorType::kSTQ1_0_Released) == "STQ1_0");
  CHECK(value_type_name(13) == "unknown value type 13");
}

TEST_CASE("typed look-ups convert what fits and name the key when they fail") {
  Writer writer;
  writer.set_string("s", "text");
  writer.set_uint32("u", 7);
  writer.set("big", make_uint(ValueType::kUint64, UINT64_MAX));
  writer.set_float32("f", 1.5f);
  writer.set_string_array("sa", {"a", "b"});
  writer.set_float32_array("fa", {1.0f, 2.0f});
  writer.set_int32_array("ia", {-1, 2});
  writer.set_bool("b", true);
  writer.set_int32("i", -3);
  writer.set_uint32("u", 8);  // replaces, keeps the position
  TempPath path("lookups.gguf");
  REQUIRE(writer.write(path.str()).ok());
  check_walk(path.str(),
             {{{"s", make_string("text")},
               {"u", make_uint(ValueType::kUint32, 8)},
               {"big", make_uint(ValueType::kUint64, UINT64_MAX)},
               {"f", make_float(ValueType::kFloat32, 1.5)},
               {"sa", make_array(ValueType::kString, {make_string("a"), make_string("b")})},
               {"fa", make_array(ValueType::kFloat32, {make_float(ValueType::kFloat32, 1.0),
                                                       make_float(ValueType::kFloat32, 2.0)})},
               {"ia", make_array(ValueType::kInt32, {make_int(ValueType::kInt32, -1),
                                                     make_int(ValueType::kInt32, 2)})},
               {"b", make_bool(true)},
               {"i", make_int(ValueType::kInt32, -3)}},
              {}});
  auto reader = Reader::open(path.str());
  REQUIRE(reader.ok());
  const Reader& r = **reader;
  CHECK(r.metadata()[1].first == "u");
  CHECK(r.get_string("s").value() == "text");
  CHECK(r.get_int("u").value() == 8);
  CHECK(r.get_int("i").value() == -3);
  CHECK(r.get_float("f").value() == 1.5);
  CHECK(r.get_float("u").value() == 8.0);
  CHECK(r.get_string_array("sa").value() == std::vector<std::string>{"a", "b"});
  CHECK(r.get_float_array("fa").value() == std::vector<double>{1.0, 2.0});
  CHECK(r.get_int_array("ia").value() == std::vector<int64_t>{-1, 2});
  CHECK(std::get<bool>(r.find("b")->data));

  CHECK(r.get_int("big").error().message() ==
        path.str() + ": key 'big': expected an integer (below 2^63), found uint64");
  CHECK(r.get_string("u").error().message() ==
        path.str() + ": key 'u': expected a string, found uint32");
  CHECK(r.get_string("nope").error().message() ==
        path.str() + ": key 'nope': expected a string, found no such key");
  CHECK(r.get_int("s").error().message() ==
        path.str() + ": key 's': expected an integer (below 2^63), found string");
  CHECK(r.get_float("s").error().message() ==
        path.str() + ": key 's': expected a number, found string");
  CHECK(r.get_float("missing").error().message() ==
        path.str() + ": key 'missing': expected a number, found no such key");
  CHECK(r.get_int("missing").error().message() ==
        path.str() + ": key 'missing': expected an integer, found no such key");
  CHECK(r.get_string_array("fa").error().message() ==
        path.str() + ": key 'fa': expected an array of strings, found an array of float32");
  CHECK(r.get_int_array("fa").error().message() ==
        path.str() + ": key 'fa': expected an array of integers, found an array of float32");
  CHECK(r.get_float_array("sa").error().message() ==
        path.str() + ": key 'sa': expected an array of numbers, found an array of string");
  CHECK(r.get_float_array("s").error().message() ==
        path.str() + ": key 's': expected an array of numbers, found string");
  CHECK(r.get_int_array("gone").error().message() ==
        path.str() + ": key 'gone': expected an array of integers, found no such key");
}

TEST_CASE("require_tensor checks presence shape and type") {
  Writer writer;
  const std::vector<uint8_t> bytes(4 * 3 * 2, 0);
  writer.add_tensor("w", TensorType::kF16, {4, 3}, bytes);
  TempPath path("require.gguf");
  REQUIRE(writer.write(path.str()).ok());
  check_walk(path.str(), {{}, {{"w", 1, {4, 3}, bytes}}});
  auto reader = Reader::open(path.str());
  REQUIRE(reader.ok());
  const Reader& r = **reader;
  CHECK(r.require_tensor("w", {4, 3}).ok());
  CHECK(r.require_tensor("w", {4, 3}, {TensorType::kF32, TensorType::kF16}).ok());
  CHECK(r.require_tensor("x", {4, 3}, {TensorType::kF32}).error().message() ==
        path.str() + ": tensor 'x': expected shape [4, 3] of F32, found no such tensor");
  CHECK(r.require_tensor("w", {3, 4}).error().message() ==
        path.str() + ": tensor 'w': expected shape [3, 4], found [4, 3]");
  CHECK(r.require_tensor("w", {4, 3}, {TensorType::kF32, TensorType::kBF16}).error().message() ==
        path.str() + ": tensor 'w': expected type F32 or BF16, found F16");
}

size_t count_entries_starting_with(const std::string& dir, const std::string& prefix) {
  size_t count = 0;
  DIR* d = ::opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (dirent* entry = ::readdir(d)) {
    if (std::string_view(entry->d_name).starts_with(prefix)) ++count;
  }
  ::closedir(d);
  return count;
}

TEST_CASE("writes replace the target atomically and leave no temporary file") {
  const std::string dir = testing::temp_dir();
  TempPath path("atomic.gguf");
  const std::string name = path.str().substr(dir.size() + 1);
  testing::write_file(path.str(), {1, 2, 3});
  Writer writer;
  writer.set_string(std::string(names::kArchitecture), "llama");
  REQUIRE(writer.write(path.str()).ok());
  check_walk(path.str(), {{{std::string(names::kArchitecture), make_string("llama")}}, {}});
  CHECK(count_entries_starting_with(dir, name) == 1);  // the target, no ".tmp-" sibling
  auto reader = Reader::open(path.str());
  REQUIRE(reader.ok());
  CHECK((*reader)->get_string(names::kArchitecture).value() == "llama");

  const std::string missing_dir = dir + "/sherry_no_such_dir/x.gguf";
  Status failed = writer.write(missing_dir);
  REQUIRE(!failed.ok());
  CHECK(failed.error().message().starts_with(missing_dir +
                                             ": cannot create a temporary file beside it: "));
}

TEST_CASE("a write onto a directory fails at the rename and removes its temporary file") {
  const std::string dir = testing::temp_dir() + "/sherry_test_dir_" + std::to_string(::getpid());
  REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  Writer writer;
  Status failed = writer.write(dir);
  REQUIRE(!failed.ok());
  CHECK(failed.error().message().starts_with(dir + ": cannot rename the temporary file " + dir +
                                             ".tmp-"));
  CHECK(failed.error().message().ends_with(" onto it: Is a directory"));
  const std::string parent = testing::temp_dir();
  const std::string stem = dir.substr(parent.size() + 1);
  CHECK(count_entries_starting_with(parent, stem) == 1);  // the directory, no temporary file
  ::rmdir(dir.c_str());
}

TEST_CASE("the writer refuses a general.alignment that is not a uint32 power of two") {
  Writer writer;
  writer.set_uint32(std::string(names::kAlignment), 48);
  TempPath path("bad_alignment.gguf");
  CHECK(writer.write(path.str()).error().message() ==
        path.str() + ": key 'general.alignment': expected a uint32 power of two, found 48");
  writer.set_string(std::string(names::kAlignment), "32");
  CHECK(writer.write(path.str()).error().message() ==
        path.str() + ": key 'general.alignment': expected a uint32 power of two, found a string");
}

TEST_CASE("opening a missing file or a directory is an error naming it") {
  const std::string missing = testing::temp_dir() + "/sherry_definitely_missing.gguf";
  CHECK(Reader::open(missing).error().message() ==
        missing + ": cannot open: No such file or directory");
  const std::string dir = testing::temp_dir();
  CHECK(Reader::open(dir).error().message() ==
        dir + ": expected a regular file, found another kind of file");
}

}  // namespace
}  // namespace sherry::gguf
