#include "tools/sherry-tune/tune_search.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string_view>
#include <utility>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "jit/kernel_build.h"
#include "jit/tuning_file.h"
#include "runtime/gguf/sherry_tensors.h"
#include "testing/temp_dir.h"
#include "tests/jit/jit_test_util.h"

namespace sherry::tune {
namespace {

using ::sherry::testing::TempDir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("shapes on the command line are parsed and checked") {
  const TuneShape s = parse_shape("96x256", WeightLayout{}).value();
  CHECK(s.m == 96);
  CHECK(s.k == 256);
  for (const std::string bad : {"96", "96x", "x256", "0x256", "96x256x3", "-4x256"}) {
    Result<TuneShape> r = parse_shape(bad, WeightLayout{});
    REQUIRE_FALSE(r.ok());
    CHECK(contains(
        r.error().message(),
        fmt::format("expected MxK with positive M and K (e.g. 2048x8192), found '{}'", bad)));
  }
  Result<TuneShape> layout = parse_shape("96x200", WeightLayout{});  // 200 is no multiple of 128
  REQUIRE_FALSE(layout.ok());
  CHECK(contains(layout.error().message(), "shape 96x200"));
}

// A GGUF file holding the given Sherry tensors.
void write_sherry_model(
    const std::string& path,
    std::initializer_list<std::pair<const char*, const PackedTensor*>> tensors) {
  gguf::Writer writer;
  for (const auto& [name, tensor] : tensors) {
    REQUIRE(gguf::add_sherry_tensor(writer, name, tensor->view()).ok());
  }
  REQUIRE(writer.write(path).ok());
}

TEST_CASE("a model file gives its distinct Sherry layer shapes") {
  const TempDir dir("model");
  const WeightLayout layout{};
  const PackedTensor a = sherry::test::random_packed(64, 256, layout, 1);
  const PackedTensor b = sherry::test::random_packed(32, 256, layout, 2);
  write_sherry_model(
      dir.file("m.gguf"),
      {{"blk.0.attn_q.weight", &a}, {"blk.0.attn_k.weight", &b}, {"blk.1.attn_q.weight", &a}});
  const std::vector<TuneShape> shapes = shapes_from_model(dir.file("m.gguf")).value();
  REQUIRE(shapes.size() == 2);
  CHECK(shapes[0].m == 64);
  CHECK(shapes[0].tensors ==
        std::vector<std::string>{"blk.0.attn_q.weight", "blk.1.attn_q.weight"});
  CHECK(shapes[1].m == 32);
  gguf::Writer empty;
  empty.set_string("general.name", "none");
  REQUIRE(empty.write(dir.file("empty.gguf")).ok());
  Result<std::vector<TuneShape>> none = shapes_from_model(dir.file("empty.gguf"));
  REQUIRE_FALSE(none.ok());
  CHECK(contains(none.error().message(), "empty.gguf: no Sherry tensor"));
  Result<std::vector<TuneShape>> missing = shapes_from_model(dir.file("absent.gguf"));
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error().message(), "absent.gguf"));
}

TEST_CASE("a model's q/k/v and gate/up count as the stacked matrices the runtime runs") {
  const TempDir dir("stacked");
  const WeightLayout layout{};
  WeightLayout per_tensor = layout;
  per_tensor.granularity = ScaleGranularity::kTensor;
  const PackedTensor q = sherry::test::random_packed(64, 256, layout, 1);
  const PackedTensor kv = sherry::test::random_packed(32, 256, layout, 2);
  const PackedTensor ffn = sherry::test::random_packed(64, 256, layout, 3);
  const PackedTensor down = sherry::test::random_packed(256, 128, layout, 4);
  const PackedTensor q_tensor = sherry::test::random_packed(64, 256, per_tensor, 5);
  // Block 1: a per-tensor scale in q keeps its q, k and v apart, as the runtime does.
  write_sherry_model(dir.file("m.gguf"), {{"blk.0.attn_q.weight", &q},
                                          {"blk.0.attn_k.weight", &kv},
                                          {"blk.0.attn_v.weight", &kv},
                                          {"blk.0.ffn_gate.weight", &ffn},
                                          {"blk.0.ffn_up.weight", &ffn},
                                          {"blk.0.ffn_down.weight", &down},
                                          {"blk.1.attn_q.weight", &q_tensor},
                                          {"blk.1.attn_k.weight", &kv},
                                          {"blk.1.attn_v.weight", &kv}});
  const std::vector<TuneShape> shapes = shapes_from_model(dir.file("m.gguf")).value();
  REQUIRE(shapes.size() == 4);
  CHECK(shapes[0].m == 128);  // q + k + v, then gate + up: both 128 x 256
  CHECK(shapes[0].k == 256);
  CHECK(shapes[0].tensors ==
        std::vector<std::string>{"blk.0.attn_q.weight+blk.0.attn_k.weight+blk.0.attn_v.weight",
                                 "blk.0.ffn_gate.weight+blk.0.ffn_up.weight"});
  CHECK(shapes[1].m == 256);
  CHECK(shapes[1].k == 128);
  CHECK(shapes[2].m == 64);
  CHECK(shapes[2].layout.granularity == ScaleGranularity::kTensor);
  CHECK(shapes[3].m == 32);
  CHECK(shapes[3].tensors ==
        std::vector<std::string>{"blk.1.attn_k.weight", "blk.1.attn_v.weight"});
}

TEST_CASE("the search checks and times every accepted tuning and never loses to the default") {
  if (!jit::has_generated_kernels(jit::best_isa(jit::host_cpu()))) return;
  TuneOptions options;
  options.reps = 3;
  options.regime = "hot";
  options.min_sample_us = 20;
  options.row_tiles = {16, 32, 64, 7};
  options.prefetches = {0, 256};
  ThreadPool pool(1);
  int calls = 0;
  const ShapeResult r = tune_shape(parse_shape("96x256", WeightLayout{}).value(), options, pool,
                                   30.0, [&](int64_t, int64_t, const std::string&) { ++calls; })
                            .value();
  CHECK(calls > 0);
  CHECK(r.regime == Regime::kHot);
  REQUIRE(r.candidates.size() >= 2);
  CHECK(r.refused >= 2);  // row tile 7 with both prefetch distances
  ir::KernelKey key;
  key.isa = r.isa;
  key.m = 96;
  key.k = 256;
  CHECK(r.key_name == jit::tuning_key_name(key));
  CHECK(r.candidates[0].tuning == jit::resolve_kernel_key(key).value().tuning);
  for (const Candidate& c : r.candidates) {
    INFO(c.kernel, " ", c.failure);
    CHECK(c.verified);
    CHECK(c.samples_us.size() == 3);
    CHECK(c.median_us > 0.0);
  }
  // The winner is the fastest verified candidate, not merely one no slower than the default, and
  // each candidate's time is the median of its own samples.
  REQUIRE(r.best < r.candidates.size());
  CHECK(r.candidates[r.best].verified);
  for (const Candidate& c : r.candidates) {
    INFO(c.kernel);
    std::vector<double> sorted = c.samples_us;
    std::sort(sorted.begin(), sorted.end());
    CHECK(c.median_us == sorted[1]);
    CHECK(r.candidates[r.best].median_us <= c.median_us);
  }
  // Each tuning is timed once.
  for (size_t i = 0; i < r.candidates.size(); ++i) {
    for (size_t j = i + 1; j < r.candidates.size(); ++j) {
      CHECK_FALSE(r.candidates[i].tuning == r.candidates[j].tuning);
    }
  }
  CHECK_FALSE(r.cut_by_budget);
  // No candidate holds fewer prefill tokens per call than the default.
  for (const Candidate& c : r.candidates) {
    CHECK(jit::max_n_tile(r.isa, c.tuning.row_tile) >=
          jit::max_n_tile(r.isa, r.candidates[0].tuning.row_tile));
  }
}

TEST_CASE("a tiny budget still times the default and says it was cut") {
  if (!jit::has_generated_kernels(jit::best_isa(jit::host_cpu()))) return;
  TuneOptions options;
  options.reps = 50;
  options.regime = "cold";
  options.cold_mb = 2;
  options.min_sample_us = 20;
  ThreadPool pool(1);
  const ShapeResult r =
      tune_shape(parse_shape("64x512", WeightLayout{}).value(), options, pool, 1e-3).value();
  CHECK(r.regime == Regime::kCold);
  CHECK(r.cut_by_budget);
  REQUIRE_FALSE(r.candidates.empty());
  CHECK(r.candidates[0].samples_us.size() >= 3);
  CHECK(r.candidates[0].samples_us.size() < 50);
}

}  // namespace
}  // namespace sherry::tune
