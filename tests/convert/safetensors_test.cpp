// The safetensors reader: every error message on the bad input that triggers it, sharded
// checkpoints, and truncations and byte flips of a valid file (an error or a parse, never a crash).
#include "tools/sherry-convert/safetensors.h"

#include <doctest/doctest.h>

#include <random>

#include "tests/convert/checkpoint_files.h"
#include "tools/sherry-convert/checkpoint_plan.h"
#include "tools/sherry-convert/hf_config.h"

namespace sherry::hf {
namespace {

using testing::f32_tensor;
using testing::RawTensor;
using testing::safetensors_bytes;
using testing::safetensors_header;

// The error of parsing `bytes`; fails the test if the parse succeeds.
std::string parse_error(const std::vector<uint8_t>& bytes) {
  auto file = SafetensorsFile::parse(bytes, "m.safetensors");
  REQUIRE_FALSE(file.ok());
  return file.error().message();
}

std::string header_error(const std::string& header, const std::vector<RawTensor>& tensors = {}) {
  return parse_error(safetensors_bytes(tensors, header));
}

std::vector<RawTensor> two_tensors() {
  return {f32_tensor("a", {2, 3}, 1), f32_tensor("b", {4}, 2)};
}

TEST_CASE("a valid file parses with every tensor where its offsets say") {
  const auto tensors = two_tensors();
  const auto bytes = safetensors_bytes(tensors);
  auto file = SafetensorsFile::parse(bytes, "m.safetensors");
  REQUIRE_MESSAGE(file.ok(), (file.ok() ? "" : file.error().message()));
  REQUIRE((*file)->tensors().size() == 2);
  const SafetensorsTensor* a = (*file)->find("a");
  REQUIRE(a != nullptr);
  CHECK(a->dtype == Dtype::kF32);
  CHECK(a->shape == std::vector<int64_t>{2, 3});
  CHECK(a->element_count() == 6);
  CHECK(std::vector<uint8_t>(a->data.begin(), a->data.end()) == tensors[0].bytes);
  CHECK(*a->file == "m.safetensors");
  CHECK((*file)->find("b")->data.size() == 16);
  CHECK((*file)->find("c") == nullptr);
  CHECK((*file)->metadata().at("format") == "pt");
  auto values = read_floats(*a);
  REQUIRE(values.ok());
  float first = 0;
  std::memcpy(&first, tensors[0].bytes.data(), 4);
  CHECK((*values)[0] == first);
}

TEST_CASE("f16 and bf16 tensors read back as floats and other dtypes are an error") {
  // 1.5 in F16 is 0x3E00, in BF16 0x3FC0; little-endian, and at an odd offset (unaligned).
  RawTensor pad{"pad", "U8", {1}, {7}};
  RawTensor f16{"h", "F16", {1}, {0x00, 0x3E}};
  RawTensor bf16{"b", "BF16", {1}, {0xC0, 0x3F}};
  RawTensor i32{"i", "I32", {1}, {1, 0, 0, 0}};
  const auto bytes = safetensors_bytes({pad, f16, bf16, i32});
  auto file = SafetensorsFile::parse(bytes, "m.safetensors");
  REQUIRE(file.ok());
  CHECK(read_floats(*(*file)->find("h")).value() == std::vector<float>{1.5f});
  CHECK(read_floats(*(*file)->find("b")).value() == std::vector<float>{1.5f});
  CHECK(read_floats(*(*file)->find("i")).error().message() ==
        "m.safetensors: tensor 'i': expected dtype F32, F16 or BF16, found I32");
}

TEST_CASE("header errors name the file and what was found") {
  CHECK(parse_error({1, 2, 3}) ==
        "m.safetensors: header: expected at least 8 bytes (the header length), found a file of 3 "
        "bytes");
  std::vector<uint8_t> big = {0xFF, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
  CHECK(parse_error(big) ==
        "m.safetensors: header: expected a length of at most 2 bytes (the file's 2 bytes after the "
        "length, and the format's limit of 100000000), found 255");
  CHECK(header_error("[1]") ==
        "m.safetensors: header: expected a JSON object starting with '{', found byte 0x5b");
  CHECK(parse_error({0, 0, 0, 0, 0, 0, 0, 0}) ==
        "m.safetensors: header: expected a JSON object starting with '{', found an empty header");
  CHECK(header_error("{\"a\":").rfind(
            "m.safetensors: header: expected valid JSON, found: [json.exception.parse_error", 0) ==
        0);
  CHECK(header_error(R"({"a":{},"a":{}})") ==
        "m.safetensors: header: expected unique keys, found 'a' twice");
  CHECK(header_error(R"({"x":{"y":{"z":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":)"
                     R"({"l":{"m":{"n":{"o":1}}}}}}}}}}}}}}}}})") ==
        "m.safetensors: header: expected JSON nested at most 16 deep, found deeper");
  CHECK(header_error(R"({"__metadata__":[]})") ==
        "m.safetensors: key '__metadata__': expected an object of strings, found array");
  CHECK(header_error(R"({"__metadata__":{"format":1}})") ==
        "m.safetensors: key '__metadata__': entry 'format': expected a string, found number");
  CHECK(header_error(R"({"":{}})") ==
        "m.safetensors: header: expected tensor names, found an empty one");
}

TEST_CASE("tensor entry errors name the tensor and what was found") {
  const std::vector<RawTensor> one = {f32_tensor("w", {2}, 1)};
  auto entry = [&](const std::string& body) { return header_error("{\"w\":" + body + "}", one); };
  CHECK(entry("3") ==
        "m.safetensors: tensor 'w': expected an object (dtype, shape, data_offsets), found number");
  CHECK(entry(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1})") ==
        "m.safetensors: tensor 'w': expected the fields dtype, shape and data_offsets, found "
        "'extra'");
  CHECK(entry(R"({"dtype":"F32","data_offsets":[0,8]})") ==
        "m.safetensors: tensor 'w': expected a field 'shape', found none");
  CHECK(entry(R"({"dtype":"F33","shape":[2],"data_offsets":[0,8]})") ==
        "m.safetensors: tensor 'w': dtype: expected one of BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, "
        "U16, F16, BF16, I32, U32, F32, F64, I64, U64, found \"F33\"");
  CHECK(entry(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})") ==
        "m.safetensors: tensor 'w': shape: expected non-negative integers, found [-2]");
  CHECK(entry(R"({"dtype":"F32","shape":[1,1,1,1,1,1,1,1,2],"data_offsets":[0,8]})") ==
        "m.safetensors: tensor 'w': shape: expected an array of at most 8 dimensions, found "
        "[1,1,1,1,1,1,1,1,2]");
  CHECK(entry(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})") ==
        "m.safetensors: tensor 'w': shape [4294967296,4294967296]: expected an element count "
        "below 2^64, found an overflow");
  CHECK(entry(R"({"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]})") ==
        "m.safetensors: tensor 'w': shape [4611686018427387904] of F64: expected a byte size below "
        "2^63, found an overflow");
  CHECK(entry(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})") ==
        "m.safetensors: tensor 'w': data_offsets: expected [begin, end] with 0 <= begin <= end, "
        "found [8,0]");
  CHECK(entry(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})") ==
        "m.safetensors: tensor 'w': data_offsets: expected [begin, end] with 0 <= begin <= end, "
        "found [0]");
  CHECK(entry(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})") ==
        "m.safetensors: tensor 'w': data_offsets [0, 16]: expected them inside the 8-byte data "
        "section, found them past its end (file truncated?)");
  CHECK(entry(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})") ==
        "m.safetensors: tensor 'w': data_offsets [0, 8]: expected 12 bytes (shape [3] of F32), "
        "found 8");
}

TEST_CASE("tensors must tile the data section without overlaps gaps or leftovers") {
  const std::vector<RawTensor> two = {f32_tensor("a", {2}, 1), f32_tensor("b", {2}, 2)};
  CHECK(header_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                     two) ==
        "m.safetensors: tensor 'b': expected its data (offset 4) not to overlap tensor 'a' (ending "
        "at 8), found an overlap");
  CHECK(header_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                     two) ==
        "m.safetensors: tensor 'b': expected its data to start at offset 4 (right after tensor "
        "'a'), found 8: a gap of 4 bytes");
  CHECK(header_error(R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", two) ==
        "m.safetensors: tensor 'b': expected its data to start at offset 0 (right after the "
        "header), found 8: a gap of 8 bytes");
  CHECK(header_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", two) ==
        "m.safetensors: data section: expected the tensors to cover its 16 bytes, found 8 bytes "
        "after the last tensor");
  // Zero-size tensors are fine anywhere.
  const std::vector<RawTensor> with_empty = {RawTensor{"e", "F32", {0}, {}},
                                             f32_tensor("a", {2}, 1)};
  CHECK(SafetensorsFile::parse(safetensors_bytes(with_empty), "m.safetensors").ok());
}

TEST_CASE("open reports a missing file and a file too short for the header") {
  const auto dir = testing::temp_dir("open");
  CHECK(SafetensorsFile::open((dir / "none.safetensors").string()).error().message() ==
        (dir / "none.safetensors").string() + ": cannot open: No such file or directory");
  testing::write_file(dir / "short.safetensors", std::string("abc"));
  CHECK(SafetensorsFile::open((dir / "short.safetensors").string()).error().message() ==
        (dir / "short.safetensors").string() +
            ": header: expected at least 8 bytes (the header length), found a file of 3 bytes");
  CHECK(SafetensorsFile::open(dir.string()).error().message() ==
        dir.string() + ": expected a regular file, found another kind of file");
}

TEST_CASE("the index of a sharded checkpoint is checked against its shards") {
  CHECK(parse_safetensors_index("{", "i.json")
            .error()
            .message()
            .rfind("i.json: expected valid JSON, found: ", 0) == 0);
  CHECK(parse_safetensors_index(R"({"metadata":{}})", "i.json").error().message() ==
        "i.json: expected an object with a \"weight_map\" object, found no such object");
  CHECK(parse_safetensors_index(R"([])", "i.json").error().message() ==
        "i.json: expected an object with a \"weight_map\" object, found array");
  CHECK(parse_safetensors_index(R"({"weight_map":{"a":3}})", "i.json").error().message() ==
        "i.json: weight_map 'a': expected a file name, found number");
  CHECK(parse_safetensors_index(R"({"weight_map":{"a":"../m.safetensors"}})", "i.json")
            .error()
            .message() ==
        "i.json: weight_map 'a': expected a file name in the checkpoint's folder, found "
        "\"../m.safetensors\"");

  const auto dir = testing::temp_dir("sharded");
  const std::vector<RawTensor> first = {f32_tensor("a", {2}, 1)};
  const std::vector<RawTensor> second = {f32_tensor("b", {2}, 2), f32_tensor("c", {3}, 3)};
  testing::write_file(dir / "s1.safetensors", safetensors_bytes(first));
  testing::write_file(dir / "s2.safetensors", safetensors_bytes(second));
  const auto index = dir / "model.safetensors.index.json";
  testing::write_file(index, std::string(R"({"weight_map":{"a":"s1.safetensors",)"
                                         R"("b":"s2.safetensors","c":"s2.safetensors"}})"));
  auto checkpoint = Checkpoint::open(dir.string());
  REQUIRE_MESSAGE(checkpoint.ok(), (checkpoint.ok() ? "" : checkpoint.error().message()));
  REQUIRE(checkpoint->tensors().size() == 3);
  CHECK(checkpoint->tensors()[0]->name == "a");
  CHECK(checkpoint->tensors()[2]->name == "c");
  CHECK(*checkpoint->find("c")->file == (dir / "s2.safetensors").string());
  CHECK(checkpoint->files().size() == 2);

  testing::write_file(index, std::string(R"({"weight_map":{"a":"s1.safetensors",)"
                                         R"("b":"s2.safetensors","c":"s1.safetensors"}})"));
  CHECK(Checkpoint::open(dir.string()).error().message() ==
        index.string() +
            ": tensor 'c': expected it in shard 's1.safetensors', found no such "
            "tensor there");
  testing::write_file(index, std::string(R"({"weight_map":{"a":"s1.safetensors",)"
                                         R"("b":"s2.safetensors"}})"));
  CHECK(Checkpoint::open(dir.string()).error().message() ==
        (dir / "s2.safetensors").string() +
            ": tensor 'c': found in shard 's2.safetensors', expected no such tensor (the index: " +
            index.string() + ")");
  testing::write_file(index, std::string(R"({"weight_map":{"a":"s3.safetensors"}})"));
  CHECK(Checkpoint::open(dir.string()).error().message() ==
        index.string() + ": shard 's3.safetensors' (holding 'a'): " +
            (dir / "s3.safetensors").string() + ": cannot open: No such file or directory");
  std::filesystem::remove(index);
  CHECK(Checkpoint::open(dir.string()).error().message() ==
        dir.string() +
            ": expected model.safetensors or model.safetensors.index.json (a Hugging Face "
            "checkpoint folder), found neither");
}

// Parses `bytes`; on success reads every float tensor and plans a conversion against the tiny
// config, as sherry-convert would. Any crash or sanitizer report fails the test run.
void use(const std::vector<uint8_t>& bytes, const HfConfig& config) {
  auto file = SafetensorsFile::parse(bytes, "m.safetensors");
  if (!file) {
    CHECK(file.error().message().rfind("m.safetensors: ", 0) == 0);
    return;
  }
  std::vector<const SafetensorsTensor*> list;
  for (const SafetensorsTensor& t : (*file)->tensors()) {
    list.push_back(&t);
    (void)read_floats(t);
  }
  std::vector<std::string> warnings;
  (void)plan_conversion(config, list, "dir", false, &warnings);
}

TEST_CASE("truncating a valid checkpoint file at any byte gives an error") {
  const auto bytes = safetensors_bytes(testing::tiny_tensors());
  const HfConfig config = parse_hf_config(testing::tiny_config(), "config.json").value();
  auto whole = SafetensorsFile::parse(bytes, "m.safetensors");
  REQUIRE(whole.ok());
  std::vector<const SafetensorsTensor*> list;
  for (const SafetensorsTensor& t : (*whole)->tensors()) list.push_back(&t);
  CHECK(plan_conversion(config, list, "dir", false, nullptr).ok());
  // Every byte of the header and the first and last tensors' bytes, then every 97th.
  const size_t header = 8 + (static_cast<size_t>(bytes[0]) | static_cast<size_t>(bytes[1]) << 8);
  for (size_t size = 0; size < bytes.size(); size += size < header + 512 ? 1 : 97) {
    const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(size));
    INFO("truncated to ", size, " bytes");
    CHECK_FALSE(SafetensorsFile::parse(cut, "m.safetensors").ok());
  }
}

TEST_CASE("thousands of random byte flips of a valid checkpoint file give a parse or an error") {
  const auto bytes = safetensors_bytes(testing::tiny_tensors());
  const HfConfig config = parse_hf_config(testing::tiny_config(), "config.json").value();
  const size_t header = 8 + (static_cast<size_t>(bytes[0]) | static_cast<size_t>(bytes[1]) << 8);
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 4000; ++trial) {
    std::vector<uint8_t> bad = bytes;
    const int flips = 1 + trial % 4;
    for (int f = 0; f < flips; ++f) {
      // Mostly in the header, where the structure is.
      const size_t at = trial % 8 == 0 ? rng() % bad.size() : rng() % header;
      bad[at] = trial % 2 ? static_cast<uint8_t>(rng()) : bad[at] ^ (1u << (rng() % 8));
    }
    INFO("trial ", trial);
    use(bad, config);
  }
}

}  // namespace
}  // namespace sherry::hf
