// Sherry, STQ1_0 and float tensors through GGUF files: lossless round trips and every error.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <optional>
#include <random>

#include "core/half.h"
#include "core/sparse_absmean.h"
#include "core/stq1_0.h"
#include "runtime/gguf/sherry_tensors.h"
#include "tests/gguf/gguf_test_util.h"
#include "tests/gguf/walk_check.h"

namespace sherry::gguf {
namespace {

using testing::bytes_of;
using testing::check_walk;
using testing::TempPath;
using testing::WrittenFile;

// What add_sherry_tensor must put in a file of its own.
WrittenFile sherry_file(const std::string& weight_name, const std::string& scale_name,
                        const PackedTensor& packed) {
  WrittenFile file;
  testing::add_sherry_written(file, weight_name, scale_name, packed);
  return file;
}

std::vector<float> random_weights(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (float& x : w) x = normal(rng);
  return w;
}

PackedTensor quantized(int64_t rows, int64_t cols, const WeightLayout& layout, uint32_t seed = 1) {
  const auto w = random_weights(rows, cols, seed);
  auto packed = quantize_sparse_absmean(w.data(), rows, cols, layout);
  REQUIRE_MESSAGE(packed.ok(), packed.error().message());
  return std::move(packed).value();
}

void check_same(const PackedTensorView& got, const PackedTensor& want) {
  REQUIRE(got.rows == want.rows);
  REQUIRE(got.cols == want.cols);
  for (int64_t r = 0; r < want.rows; ++r) {
    for (int64_t b = 0; b < want.cols / 4; ++b) {
      if (got.code(r, b) != want.code(r, b)) {
        FAIL("code differs at row ", r, " block ", b);
      }
    }
  }
  const int64_t scales = scale_count(want.layout, want.rows, want.cols);
  for (int64_t i = 0; i < scales; ++i)
    REQUIRE(got.scales[i] == want.scales[static_cast<size_t>(i)]);
}

// Writes, walks the file with MiniWalker against `written` (before the reader sees it), opens it.
std::unique_ptr<Reader> write_and_open(const Writer& writer, const TempPath& path,
                                       const WrittenFile& written) {
  REQUIRE(writer.write(path.str()).ok());
  check_walk(path.str(), written);
  auto reader = Reader::open(path.str());
  REQUIRE_MESSAGE(reader.ok(), reader.error().message());
  return std::move(reader).value();
}

TEST_CASE("sherry tensors of every granularity and grouping survive a file") {
  const WeightLayout layouts[] = {
      {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 128},
      {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 32},
      {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128},
      {BlockGrouping::kContiguous, ScaleGranularity::kTensor, 128},
      {BlockGrouping::kStride16, ScaleGranularity::kGroup, 64},
      {BlockGrouping::kStride16, ScaleGranularity::kTensor, 128},
  };
  for (const WeightLayout& layout : layouts) {
    INFO(to_string(layout.grouping), " ", to_string(layout.granularity), " ", layout.group_size);
    const PackedTensor packed = quantized(3, 256, layout, 7);
    Writer writer;
    REQUIRE(add_sherry_tensor(writer, "blk.0.attn_q.weight", packed.view()).ok());
    TempPath path("sherry.gguf");
    const auto reader = write_and_open(
        writer, path, sherry_file("blk.0.attn_q.weight", "blk.0.attn_q.scale", packed));
    CHECK(reader->get_int(kSherryFormatVersionKey).value() == 1);
    CHECK(reader->get_string(kSherryBlockGroupingKey).value() == to_string(layout.grouping));
    const TensorInfo* weight = reader->find_tensor("blk.0.attn_q.weight");
    REQUIRE(weight != nullptr);
    CHECK(weight->type == TensorType::kSherry);
    CHECK(weight->shape == std::vector<int64_t>{256, 3});
    CHECK(weight->byte_size == 3 * 40);
    const TensorInfo* scale = reader->find_tensor("blk.0.attn_q.scale");
    REQUIRE(scale != nullptr);
    CHECK(scale->type == TensorType::kF16);

    auto view = read_sherry_tensor(*reader, "blk.0.attn_q.weight");
    REQUIRE_MESSAGE(view.ok(), view.error().message());
    CHECK(view->layout.grouping == packed.layout.grouping);
    CHECK(view->layout.granularity == packed.layout.granularity);
    if (layout.granularity == ScaleGranularity::kGroup)
      CHECK(view->layout.group_size == layout.group_size);
    CHECK(view->codes == weight->data);  // a view into the mapping, no copy
    check_same(*view, packed);
  }
}

TEST_CASE("a group as wide as the row reads back as channel granularity") {
  const PackedTensor packed =
      quantized(2, 64, {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 64});
  Writer writer;
  REQUIRE(add_sherry_tensor(writer, "w.weight", packed.view()).ok());
  TempPath path("wide_group.gguf");
  const auto reader = write_and_open(writer, path, sherry_file("w.weight", "w.scale", packed));
  auto view = read_sherry_tensor(*reader, "w.weight");
  REQUIRE(view.ok());
  CHECK(view->layout.granularity == ScaleGranularity::kChannel);
  check_same(*view, packed);
}

TEST_CASE("STQ1_0 tensors round-trip under both type ids and both groupings") {
  for (BlockGrouping grouping : {BlockGrouping::kStride16, BlockGrouping::kContiguous}) {
    const PackedTensor packed = quantized(4, 512, stq1_0_layout(grouping), 3);
    for (TensorType type : {TensorType::kSTQ1_0, TensorType::kSTQ1_0_Released}) {
      Writer writer;
      REQUIRE(add_stq1_0_tensor(writer, "blk.0.ffn_up.weight", packed.view(), type).ok());
      TempPath path("stq.gguf");
      const auto blocks = pack_stq1_0(packed.view());
      REQUIRE(blocks.ok());
      const auto reader = write_and_open(
          writer, path,
          {{{"sherry.stq1_0_block_grouping", make_string(std::string(to_string(grouping)))}},
           {{"blk.0.ffn_up.weight",
             static_cast<uint32_t>(type == TensorType::kSTQ1_0 ? 43 : 42),
             {512, 4},
             bytes_of(blocks->data(), blocks->size())}}});
      const TensorInfo* info = reader->find_tensor("blk.0.ffn_up.weight");
      REQUIRE(info != nullptr);
      CHECK(info->type == type);
      CHECK(info->byte_size == 4 * 2 * 42);
      auto file_grouping = stq1_0_grouping(*reader);
      REQUIRE(file_grouping.ok());
      CHECK(*file_grouping == grouping);
      auto back = read_stq1_0_tensor(*reader, "blk.0.ffn_up.weight", *file_grouping);
      REQUIRE_MESSAGE(back.ok(), back.error().message());
      CHECK(back->layout == stq1_0_layout(grouping));
      check_same(back->view(), packed);
    }
  }
}

TEST_CASE("float tensors are stored as F32 F16 or BF16 and read back as floats") {
  const std::vector<float> values = {0.0f, -1.5f, 3.14159f, 65504.0f, 1e-3f, -2.0e-8f};
  Writer writer;
  add_float_tensor(writer, "f32", TensorType::kF32, {3, 2}, values);
  add_float_tensor(writer, "f16", TensorType::kF16, {6}, values);
  add_float_tensor(writer, "bf16", TensorType::kBF16, {2, 3}, values);
  TempPath path("floats.gguf");
  std::vector<uint16_t> halves, bhalves;
  for (float v : values) {
    halves.push_back(float_to_fp16(v));
    bhalves.push_back(float_to_bf16(v));
  }
  const auto reader =
      write_and_open(writer, path,
                     {{},
                      {{"f32", 0, {3, 2}, bytes_of(values.data(), values.size())},
                       {"f16", 1, {6}, bytes_of(halves.data(), halves.size())},
                       {"bf16", 30, {2, 3}, bytes_of(bhalves.data(), bhalves.size())}}});
  const auto f32 = read_float_tensor(*reader, "f32");
  const auto f16 = read_float_tensor(*reader, "f16");
  const auto bf16 = read_float_tensor(*reader, "bf16");
  REQUIRE((f32.ok() && f16.ok() && bf16.ok()));
  for (size_t i = 0; i < values.size(); ++i) {
    CHECK(f32.value()[i] == values[i]);
    CHECK(f16.value()[i] == fp16_to_float(float_to_fp16(values[i])));
    CHECK(bf16.value()[i] == bf16_to_float(float_to_bf16(values[i])));
  }
  CHECK(read_float_tensor(*reader, "nope").error().message() ==
        path.str() + ": tensor 'nope': expected an F32, F16 or BF16 tensor, found no such tensor");
}

TEST_CASE("adding a sherry tensor checks shape layout name and grouping") {
  Writer writer;
  const PackedTensor narrow =
      quantized(2, 48, {BlockGrouping::kContiguous, ScaleGranularity::kChannel, 128});
  CHECK(
      add_sherry_tensor(writer, "a.weight", narrow.view()).error().message() ==
      "tensor 'a.weight': expected cols to be a multiple of 32 (the sherry GGUF block), found 48");

  PackedTensor bad_layout =
      quantized(2, 64, {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 64});
  bad_layout.layout.group_size = 48;
  CHECK(add_sherry_tensor(writer, "a.weight", bad_layout.view()).error().message() ==
        "a.weight (shape 2 x 64): cols 64 is not a multiple of group_size 48");

  const PackedTensor ok =
      quantized(2, 64, {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 32});
  REQUIRE(add_sherry_tensor(writer, "a.weight", ok.view()).ok());
  CHECK(add_sherry_tensor(writer, "a.weight", ok.view()).error().message() ==
        "tensor 'a.weight': expected a new tensor name, found one already added");
  const PackedTensor strided =
      quantized(2, 64, {BlockGrouping::kStride16, ScaleGranularity::kGroup, 64});
  CHECK(add_sherry_tensor(writer, "b.weight", strided.view()).error().message() ==
        "tensor 'b.weight': expected the file's block grouping 'contiguous' "
        "(sherry.block_grouping), found 'stride16'");
  CHECK(scale_tensor_name("blk.1.ffn_down.weight") == "blk.1.ffn_down.scale");
  CHECK(scale_tensor_name("odd") == "odd.scale");
}

TEST_CASE("adding an STQ1_0 tensor needs the STQ1_0 layout one grouping and a new name") {
  Writer writer;
  const PackedTensor group128 =
      quantized(1, 256, {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 128});
  CHECK(add_stq1_0_tensor(writer, "s", group128.view()).error().message() ==
        "s: layout contiguous block grouping with group scales group_size 128 cannot be written as "
        "STQ1_0: expected group scales of group_size 256");
  const PackedTensor ok = quantized(1, 256, kStq1_0Layout);
  REQUIRE(add_stq1_0_tensor(writer, "s", ok.view()).ok());
  CHECK(add_stq1_0_tensor(writer, "s", ok.view()).error().message() ==
        "tensor 's': expected a new tensor name, found one already added");
  const PackedTensor contiguous = quantized(1, 256, stq1_0_layout(BlockGrouping::kContiguous));
  CHECK(add_stq1_0_tensor(writer, "t", contiguous.view()).error().message() ==
        "tensor 't': expected the file's block grouping 'stride16' "
        "(sherry.stq1_0_block_grouping), found 'contiguous'");
}

// A file with raw tensors and metadata, for the reading errors.
struct RawFile {
  Writer writer;
  TempPath path{"raw.gguf"};
  WrittenFile written{{}, {}, WrittenFile::Metadata::kSubset};

  RawFile(bool with_metadata = true) {
    if (with_metadata) {
      writer.set_uint32(std::string(kSherryFormatVersionKey), 1);
      writer.set_string(std::string(kSherryBlockGroupingKey), "contiguous");
    }
  }
  void add(const std::string& name, TensorType type, std::vector<int64_t> shape, uint8_t fill = 0) {
    const TensorTypeTraits& traits = *tensor_type_traits(type);
    int64_t blocks = shape[0] / traits.block_weights;
    for (size_t i = 1; i < shape.size(); ++i) blocks *= shape[i];
    const std::vector<uint8_t> bytes(static_cast<size_t>(blocks * traits.block_bytes), fill);
    written.tensors.push_back(
        {name, static_cast<uint32_t>(type), {shape.begin(), shape.end()}, bytes});
    writer.add_tensor(name, type, std::move(shape), bytes);
  }
  // Writes the file and walks its tensors (the tests set the metadata on `writer` directly).
  void write() {
    REQUIRE(writer.write(path.str()).ok());
    check_walk(path.str(), written);
  }
  std::string sherry_error(std::string_view name = "w.weight") {
    write();
    auto reader = Reader::open(path.str());
    REQUIRE(reader.ok());
    auto view = read_sherry_tensor(**reader, name);
    REQUIRE(!view.ok());
    return view.error().message();
  }
};

TEST_CASE("reading a sherry tensor validates metadata weight and scales") {
  {
    RawFile f(false);
    f.add("w.weight", TensorType::kSherry, {64, 2});
    CHECK(f.sherry_error() ==
          f.path.str() +
              ": key 'sherry.format_version' (needed by tensor 'w.weight'): expected 1, "
              "found no such key");
  }
  {
    RawFile f(false);
    f.writer.set_uint32(std::string(kSherryFormatVersionKey), 2);
    f.add("w.weight", TensorType::kSherry, {64, 2});
    CHECK(f.sherry_error() ==
          f.path.str() +
              ": key 'sherry.format_version' (needed by tensor 'w.weight'): expected 1, found 2");
  }
  {
    RawFile f(false);
    f.writer.set_string(std::string(kSherryFormatVersionKey), "1");
    f.add("w.weight", TensorType::kSherry, {64, 2});
    CHECK(f.sherry_error() ==
          f.path.str() +
              ": key 'sherry.format_version' (needed by tensor 'w.weight'): expected 1, "
              "found string");
  }
  {
    RawFile f(false);
    f.writer.set_uint32(std::string(kSherryFormatVersionKey), 1);
    f.add("w.weight", TensorType::kSherry, {64, 2});
    CHECK(f.sherry_error() ==
          f.path.str() + ": key 'sherry.block_grouping': expected a string, found no such key");
  }
  {
    RawFile f;
    f.writer.set_string(std::string(kSherryBlockGroupingKey), "diagonal");
    f.add("w.weight", TensorType::kSherry, {64, 2});
    CHECK(f.sherry_error() ==
          f.path.str() +
              ": key 'sherry.block_grouping': unknown block grouping 'diagonal': expected "
              "contiguous or stride16");
  }
  {
    RawFile f;
    CHECK(f.sherry_error() ==
          f.path.str() + ": tensor 'w.weight': expected a sherry matrix, found no such tensor");
  }
  {
    RawFile f;
    f.add("w.weight", TensorType::kF16, {64, 2});
    CHECK(f.sherry_error() ==
          f.path.str() + ": tensor 'w.weight': expected type sherry, found F16");
  }
  {
    RawFile f;
    f.add("w.weight", TensorType::kSherry, {64, 2, 2});
    CHECK(f.sherry_error() ==
          f.path.str() +
              ": tensor 'w.weight': expected 2 dimensions [cols, rows], found shape [64, 2, 2]");
  }
  {
    RawFile f;
    f.add("w.weight", TensorType::kSherry, {64, 2});
    CHECK(f.sherry_error() ==
          f.path.str() +
              ": tensor 'w.weight': expected its F16 scale tensor 'w.scale', found no such "
              "tensor");
  }
  {
    RawFile f;
    f.add("w.weight", TensorType::kSherry, {64, 2});
    f.add("w.scale", TensorType::kF32, {2, 2});
    CHECK(f.sherry_error() == f.path.str() + ": tensor 'w.scale': expected type F16, found F32");
  }
  for (const std::vector<int64_t>& bad_shape :
       {std::vector<int64_t>{3, 2}, {2, 3}, {2}, {1, 1, 2}}) {
    RawFile f;
    f.add("w.weight", TensorType::kSherry, {64, 2});
    f.add("w.scale", TensorType::kF16, bad_shape);
    CHECK(f.sherry_error() ==
          f.path.str() +
              fmt::format(": tensor 'w.scale': expected shape [1] or [groups, 2] with groups "
                          "dividing 64 (for 'w.weight' of shape [64, 2]), found [{}]",
                          fmt::join(bad_shape, ", ")));
  }
  {
    RawFile f;
    f.add("w.weight", TensorType::kSherry, {64, 2});
    f.add("w.scale", TensorType::kF16, {8, 2});  // groups of 8 weights
    f.writer.set_string(std::string(kSherryBlockGroupingKey),
                        "stride16");  // stride16 needs groups of 64
    CHECK(f.sherry_error() ==
          f.path.str() +
              ": scales 'w.scale': w.weight (shape 2 x 64): group_size 8 is not a multiple of 64 "
              "required by stride16 block grouping");
  }
  {
    RawFile f;
    f.add("w.weight", TensorType::kSherry, {64, 2});
    f.add("w.scale", TensorType::kF16, {2, 2}, 0x7C);  // 0x7C7C: NaN
    CHECK(f.sherry_error() ==
          f.path.str() + ": tensor 'w.scale': expected finite scales, found nan at index 0");
  }
  {
    RawFile f;
    f.add("w.weight", TensorType::kSherry, {64, 2});
    f.add("w.scale", TensorType::kF16, {2, 2});
    f.write();
    // The same bytes at an odd address (parse over memory) put the scales at an odd address.
    std::vector<uint8_t> shifted(1);
    const auto bytes = testing::read_file(f.path.str());
    shifted.insert(shifted.end(), bytes.begin(), bytes.end());
    auto reader = Reader::parse(std::span(shifted).subspan(1), "odd.gguf");
    REQUIRE(reader.ok());
    CHECK(read_sherry_tensor(**reader, "w.weight").error().message() ==
          "odd.gguf: tensor 'w.scale': expected data aligned to 2 bytes, found an odd address");
  }
}

TEST_CASE("reading an STQ1_0 tensor checks type shape and scales") {
  {
    RawFile f;
    f.add("s", TensorType::kQ4_0, {256, 1});
    f.write();
    auto reader = Reader::open(f.path.str());
    REQUIRE(reader.ok());
    CHECK(read_stq1_0_tensor(**reader, "s").error().message() ==
          f.path.str() + ": tensor 's': expected type STQ1_0, found Q4_0");
    CHECK(read_stq1_0_tensor(**reader, "t").error().message() ==
          f.path.str() + ": tensor 't': expected a STQ1_0 matrix, found no such tensor");
    CHECK(read_float_tensor(**reader, "s").error().message() ==
          f.path.str() + ": tensor 's': expected type F32, F16 or BF16, found Q4_0");
  }
  {
    RawFile f;
    f.add("s", TensorType::kSTQ1_0, {256});
    f.write();
    auto reader = Reader::open(f.path.str());
    REQUIRE(reader.ok());
    CHECK(read_stq1_0_tensor(**reader, "s").error().message() ==
          f.path.str() + ": tensor 's': expected 2 dimensions [cols, rows], found shape [256]");
  }
  {
    RawFile f;
    f.add("s", TensorType::kSTQ1_0_Released, {256, 1}, 0x7C);  // d = 0x7C7C: NaN
    f.write();
    auto reader = Reader::open(f.path.str());
    REQUIRE(reader.ok());
    CHECK(read_stq1_0_tensor(**reader, "s").error().message() ==
          f.path.str() +
              ": s: STQ1_0 block 0 of row 0 has scale d = nan (fp16 bits 0x7c7c): expected a "
              "finite value");
  }
}

TEST_CASE("the STQ1_0 grouping comes from the file or else the option or else stride16") {
  // The grouping key's value (nullopt: no key) → the file to read.
  auto file_with = [](std::optional<Value> value) {
    auto f = std::make_unique<RawFile>(false);
    f->add("s", TensorType::kSTQ1_0, {256, 1});
    if (value) f->writer.set("sherry.stq1_0_block_grouping", *value);
    f->write();
    auto reader = Reader::open(f->path.str());
    REQUIRE(reader.ok());
    return std::make_pair(std::move(f), std::move(*reader));
  };
  {
    auto [f, reader] = file_with(std::nullopt);
    CHECK(stq1_0_grouping(*reader).value() == BlockGrouping::kStride16);
    CHECK(stq1_0_grouping(*reader, BlockGrouping::kContiguous).value() ==
          BlockGrouping::kContiguous);
  }
  {
    auto [f, reader] = file_with(make_string("contiguous"));
    CHECK(stq1_0_grouping(*reader).value() == BlockGrouping::kContiguous);
    CHECK(stq1_0_grouping(*reader, BlockGrouping::kContiguous).value() ==
          BlockGrouping::kContiguous);
    CHECK(stq1_0_grouping(*reader, BlockGrouping::kStride16).error().message() ==
          f->path.str() +
              ": key 'sherry.stq1_0_block_grouping': the file declares block grouping "
              "'contiguous', found --stq1-0-grouping stride16 (the option is for files that do "
              "not say)");
  }
  {
    auto [f, reader] = file_with(make_string("zigzag"));
    CHECK(stq1_0_grouping(*reader).error().message() ==
          f->path.str() +
              ": key 'sherry.stq1_0_block_grouping': unknown block grouping 'zigzag': expected "
              "contiguous or stride16");
  }
  {
    auto [f, reader] = file_with(make_uint(ValueType::kUint32, 1));
    CHECK(stq1_0_grouping(*reader).error().message() ==
          f->path.str() + ": key 'sherry.stq1_0_block_grouping': expected a string, found uint32");
  }
}

}  // namespace
}  // namespace sherry::gguf
