// Layers that read one input (runtime/linear_group.h): stacked into one matrix where their
// weights allow, and then bit for bit what the layers give one by one; left apart otherwise.
#include <doctest/doctest.h>

#include <random>

#include "core/sparse_absmean.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/sherry_tensors.h"
#include "runtime/linear_group.h"
#include "tiny_llama.h"

namespace sherry::runtime {
namespace {

struct TensorSpec {
  std::string name;
  int64_t rows;
  WeightLayout layout;
  bool as_float = false;  // F32 instead of Sherry
};

// A file holding the tensors (random weights of `cols` inputs).
std::string write_tensors(const std::vector<TensorSpec>& specs, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  gguf::Writer writer;
  writer.set_string("general.architecture", "llama");
  for (const TensorSpec& t : specs) {
    std::vector<float> w(static_cast<size_t>(t.rows * cols));
    for (float& v : w) v = normal(rng);
    if (t.as_float) {
      gguf::add_float_tensor(writer, t.name, gguf::TensorType::kF32, {cols, t.rows}, w);
      continue;
    }
    auto packed = quantize_sparse_absmean(w.data(), t.rows, cols, t.layout, t.name);
    REQUIRE(packed.ok());
    REQUIRE(gguf::add_sherry_tensor(writer, t.name, packed->view()).ok());
  }
  const std::string path = testing::temp_path("linear_group_" + std::to_string(seed) + ".gguf");
  REQUIRE(writer.write(path).ok());
  return path;
}

std::vector<float> random_input(int64_t n, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * cols));
  for (float& v : x) v = normal(rng);
  return x;
}

// The group's outputs against each member loaded as a layer of its own, for several token
// counts (GEMV, lookup GEMM and dot GEMM calls): equal bit for bit (each row's sums and scaling
// are the same arithmetic whichever matrix holds the row).
void check_group(const std::vector<TensorSpec>& specs, int64_t cols, bool expect_fused,
                 uint32_t seed) {
  const std::string path = write_tensors(specs, cols, seed);
  auto reader = gguf::Reader::open(path);
  REQUIRE(reader.ok());
  ThreadPool pool(2);
  LinearLoadOptions options;
  options.max_tokens = 24;
  options.pool = &pool;
  std::vector<LinearGroup::Member> members;
  for (const TensorSpec& t : specs) members.push_back({t.name, t.rows});
  Result<LinearGroup> group = LinearGroup::load(**reader, members, cols, options);
  REQUIRE_MESSAGE(group.ok(), (group.ok() ? "" : group.error().message()));
  CHECK(group->fused() == expect_fused);
  for (const int64_t n : {1, 3, 24}) {
    const std::vector<float> x = random_input(n, cols, seed + static_cast<uint32_t>(n));
    QuantizedActivations qx;
    qx.values.resize(static_cast<size_t>(n * cols));
    qx.scales.resize(static_cast<size_t>(n));
    group->quantize_input(x.data(), n, qx, &pool);
    std::vector<std::vector<float>> got;
    std::vector<float*> outputs;
    for (const TensorSpec& t : specs) got.emplace_back(static_cast<size_t>(n * t.rows));
    for (auto& g : got) outputs.push_back(g.data());
    group->forward(x.data(), n, qx, outputs);
    for (size_t i = 0; i < specs.size(); ++i) {
      Result<LinearLayer> alone =
          LinearLayer::load(**reader, specs[i].name, specs[i].rows, cols, options);
      REQUIRE(alone.ok());
      std::vector<float> want(got[i].size());
      alone->forward(x.data(), n, want.data());
      INFO(specs[i].name, ", ", n, " tokens");
      CHECK(got[i] == want);
    }
  }
}

TEST_CASE("layers with one input and one layout are stacked and give the layers' outputs") {
  const WeightLayout group128{BlockGrouping::kContiguous, ScaleGranularity::kGroup, 128};
  // q, k, v of a grouped-query layer: rows not multiples of any row tile.
  check_group({{"q", 136, group128}, {"k", 40, group128}, {"v", 40, group128}}, 256, true, 1);
  const WeightLayout channel{BlockGrouping::kStride16, ScaleGranularity::kChannel, 128};
  check_group({{"gate", 300, channel}, {"up", 300, channel}}, 192, true, 2);
}

TEST_CASE("layers that cannot be stacked run one by one and give their own outputs") {
  const WeightLayout group128{BlockGrouping::kContiguous, ScaleGranularity::kGroup, 128};
  const WeightLayout group64{BlockGrouping::kContiguous, ScaleGranularity::kGroup, 64};
  const WeightLayout tensor{BlockGrouping::kContiguous, ScaleGranularity::kTensor, 128};
  SUBCASE("different layouts") {
    check_group({{"q", 64, group128}, {"k", 32, group64}}, 256, false, 3);
  }
  SUBCASE("one scale per tensor") {
    check_group({{"q", 64, tensor}, {"k", 32, tensor}}, 256, false, 4);
  }
  SUBCASE("a float member") {
    check_group({{"q", 64, group128}, {"k", 32, group128, true}}, 256, false, 5);
  }
}

}  // namespace
}  // namespace sherry::runtime
