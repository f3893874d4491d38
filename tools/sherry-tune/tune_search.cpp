#include "tools/sherry-tune/tune_search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "core/reference_kernels.h"
#include "jit/aligned_buffer.h"
#include "jit/cpu_detect.h"
#include "jit/kernel_build.h"
#include "jit/kernel_cache.h"
#include "jit/table_builder.h"
#include "jit/tuning_file.h"
#include "jit/weight_repack.h"
#include "runtime/gguf/sherry_tensors.h"
#include "tests/core/test_util.h"

namespace sherry::tune {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Decode of a model larger than the last-level cache reads every layer from memory; only small
// layers may stay in L2 between tokens.
constexpr int64_t kColdThresholdBytes = int64_t{256} << 10;

// One candidate's kernels and weight copies.
struct Layer {
  std::shared_ptr<const jit::Kernel> kernel;      // GEMV, float output
  std::shared_ptr<const jit::Kernel> acc_kernel;  // GEMV, int32 accumulators
  // Shared by the candidates with the same row tile (prefetch does not change the layout).
  std::shared_ptr<std::vector<jit::RepackedWeights>> copies;
  jit::AlignedBuffer<int8_t> scratch;
  jit::AlignedBuffer<uint8_t> tables;
  jit::AlignedBuffer<float> out;
  int64_t stream_bytes = 0;
};

using CopiesByRowTile = std::map<int64_t, std::shared_ptr<std::vector<jit::RepackedWeights>>>;

Result<std::unique_ptr<Layer>> make_layer(const PackedTensor& w, const ir::KernelKey& resolved,
                                          int64_t copies, CopiesByRowTile& shared) {
  auto layer = std::make_unique<Layer>();
  auto kernel = jit::KernelCache::global().get(resolved);
  if (!kernel.ok()) return kernel.error();
  layer->kernel = *kernel;
  ir::KernelKey acc_key = resolved;
  acc_key.output = ir::OutputMode::kAccumulators;
  auto acc = jit::KernelCache::global().get(acc_key);
  if (!acc.ok()) return acc.error();
  layer->acc_kernel = *acc;
  const jit::KernelLayout& l = layer->kernel->layout;
  auto& slot = shared[resolved.tuning.row_tile];
  if (!slot) {
    slot = std::make_shared<std::vector<jit::RepackedWeights>>();
    slot->push_back(jit::repack_weights(w.view(), l));
    for (int64_t c = 1; c < copies; ++c) {
      const jit::RepackedWeights& first = slot->front();
      jit::RepackedWeights copy;
      copy.weights.resize(first.weights.size());
      copy.alpha.resize(first.alpha.size());
      copy.nneg.resize(first.nneg.size());
      std::memcpy(copy.weights.data(), first.weights.data(), first.weights.size());
      std::memcpy(copy.alpha.data(), first.alpha.data(), first.alpha.size() * sizeof(float));
      std::memcpy(copy.nneg.data(), first.nneg.data(), first.nneg.size() * sizeof(int32_t));
      slot->push_back(std::move(copy));
    }
  }
  layer->copies = slot;
  layer->scratch.resize(static_cast<size_t>(l.k_pad));
  layer->tables.resize(static_cast<size_t>(l.table_bytes));
  layer->out.resize(static_cast<size_t>(
      std::max(l.out_token_bytes, layer->acc_kernel->layout.out_token_bytes) / 4));
  layer->stream_bytes = l.tiles * l.tile_weight_bytes;
  return layer;
}

// One decode call: tables of the token, then the tiles split over the pool.
void run_call(Layer& layer, const jit::Kernel& kernel, int64_t copy, const QuantizedActivations& x,
              BlockGrouping grouping, ThreadPool& pool) {
  const jit::KernelLayout& l = kernel.layout;
  jit::build_tables(l, grouping, x.token(0), x.cols, layer.scratch.data(), layer.tables.data());
  const jit::RepackedWeights& w = (*layer.copies)[copy % layer.copies->size()];
  const jit::KernelArgs args{w.weights.data(),
                             w.alpha.data(),
                             w.nneg.data(),
                             layer.tables.data(),
                             x.scales.data(),
                             layer.out.data(),
                             0,
                             l.tiles};
  pool.parallel_for(l.tiles, 1, [&](int64_t begin, int64_t end, int) {
    jit::KernelArgs part = args;
    part.tile_begin = begin;
    part.tile_end = end;
    kernel.run(part);
  });
}

// Accumulators bit-exact and float outputs within 1e-5 of the largest output; "" when right.
std::string check(Layer& layer, const PackedTensor& w, ThreadPool& pool) {
  const std::vector<float> xf = sherry::test::random_floats(w.cols, 17);
  const QuantizedActivations x = quantize_activations_i8(xf.data(), 1, w.cols);
  const int64_t groups = scale_groups_per_row(w.layout, w.cols);
  std::vector<int32_t> want(static_cast<size_t>(w.rows * groups));
  reference_accumulate_i32(w.view(), x, want.data());
  run_call(layer, *layer.acc_kernel, 0, x, w.layout.grouping, pool);
  const int64_t m_pad = layer.acc_kernel->layout.m_pad;
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t m = 0; m < w.rows; ++m) {
      const int32_t got = reinterpret_cast<const int32_t*>(layer.out.data())[g * m_pad + m];
      if (got != want[m * groups + g]) {
        return fmt::format("accumulator of row {} group {} is {}, the reference {}", m, g, got,
                           want[m * groups + g]);
      }
    }
  }
  std::vector<float> want_y(static_cast<size_t>(w.rows));
  reference_scale_accumulators(w.view(), x, want.data(), want_y.data());
  run_call(layer, *layer.kernel, 0, x, w.layout.grouping, pool);
  float scale = 1e-30f;
  for (const float v : want_y) scale = std::max(scale, std::fabs(v));
  for (int64_t m = 0; m < w.rows; ++m) {
    if (std::fabs(layer.out[m] - want_y[m]) > 1e-5f * scale) {
      return fmt::format("output of row {} is {}, the reference {}", m, layer.out[m], want_y[m]);
    }
  }
  return {};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

std::string_view to_string(Regime regime) {
  return regime == Regime::kHot ? "hot" : "cold";
}

Result<TuneShape> parse_shape(const std::string& text, const WeightLayout& layout) {
  TuneShape shape;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%ldx%ld%c", &shape.m, &shape.k, &tail) != 2 || shape.m <= 0 ||
      shape.k <= 0) {
    return make_error("--shapes: expected MxK with positive M and K (e.g. 2048x8192), found '{}'",
                      text);
  }
  shape.layout = layout;
  SHERRY_TRY(validate_layout(layout, shape.m, shape.k, fmt::format("shape {}", text)));
  return shape;
}

Result<std::vector<TuneShape>> shapes_from_model(const std::string& path) {
  auto reader = gguf::Reader::open(path);
  if (!reader.ok()) return reader.error();
  std::vector<TuneShape> shapes;
  for (const gguf::TensorInfo& info : (*reader)->tensors()) {
    if (info.type != gguf::TensorType::kSherry) continue;
    Result<PackedTensorView> view = gguf::read_sherry_tensor(**reader, info.name);
    if (!view.ok()) return view.error();
    auto same = std::find_if(shapes.begin(), shapes.end(), [&](const TuneShape& s) {
      return s.m == view->rows && s.k == view->cols && s.layout == view->layout;
    });
    if (same == shapes.end()) {
      shapes.push_back({view->rows, view->cols, view->layout, {}});
      same = shapes.end() - 1;
    }
    same->tensors.push_back(info.name);
  }
  if (shapes.empty()) {
    return make_error("{}: no Sherry tensor (type sherry, 1250) in the file to tune for", path);
  }
  return shapes;
}

Result<ShapeResult> tune_shape(const TuneShape& shape, const TuneOptions& options, ThreadPool& pool,
                               double budget_s, const Progress& progress) {
  const auto start = Clock::now();
  // The defaults are what tuned kernels are compared with: no tuning file while searching.
  jit::set_active_tuning(std::nullopt);
  ShapeResult result;
  result.shape = shape;
  result.isa = jit::best_isa(jit::host_cpu());
  if (!jit::has_generated_kernels(result.isa)) {
    return make_error("shape {}x{}: no generated kernels on the {} path, nothing to tune", shape.m,
                      shape.k, ir::to_string(result.isa));
  }
  ir::KernelKey key;
  key.isa = result.isa;
  key.m = shape.m;
  key.k = shape.k;
  key.layout = shape.layout;
  result.key_name = jit::tuning_key_name(key);
  Result<ir::KernelKey> default_key = jit::resolve_kernel_key(key);
  if (!default_key.ok()) return default_key.error();

  // Candidates: the default first, then every accepted (row tile, prefetch) pair.
  std::vector<ir::KernelKey> keys = {*default_key};
  for (const int64_t row_tile : options.row_tiles) {
    for (const int64_t prefetch : options.prefetches) {
      ir::KernelKey k = key;
      k.tuning = {row_tile, prefetch};
      Result<ir::KernelKey> resolved = jit::resolve_kernel_key(k);
      if (!resolved.ok()) {
        ++result.refused;
        continue;
      }
      // The layer's GEMM kernels share the row tile: a tile that holds fewer tokens per call
      // than the default's would trade prefill speed for decode speed.
      if (options.keep_prefill && jit::max_n_tile(result.isa, resolved->tuning.row_tile) <
                                      jit::max_n_tile(result.isa, default_key->tuning.row_tile)) {
        ++result.skipped_for_prefill;
        continue;
      }
      if (std::none_of(keys.begin(), keys.end(),
                       [&](const ir::KernelKey& other) { return other == *resolved; })) {
        keys.push_back(*resolved);
      }
    }
  }

  const PackedTensor w = sherry::test::random_packed(shape.m, shape.k, shape.layout, 7);
  // Regime and copies from the default layer's stream size.
  CopiesByRowTile probe_copies;
  std::unique_ptr<Layer> probe = make_layer(w, *default_key, 1, probe_copies).value();
  const int64_t stream = probe->stream_bytes;
  probe.reset();
  probe_copies.clear();
  CopiesByRowTile shared_copies;
  result.regime = options.regime == "hot"         ? Regime::kHot
                  : options.regime == "cold"      ? Regime::kCold
                  : stream >= kColdThresholdBytes ? Regime::kCold
                                                  : Regime::kHot;
  const int64_t copies = result.regime == Regime::kCold
                             ? std::max<int64_t>(2, (options.cold_mb << 20) / stream + 1)
                             : 1;

  // Build and check each candidate; a failing default is a JIT bug and stops the shape.
  std::vector<std::unique_ptr<Layer>> layers;
  const int64_t total_steps = static_cast<int64_t>(keys.size()) * (1 + options.reps);
  int64_t step = 0;
  auto report = [&](const std::string& what) {
    if (progress) progress(++step, total_steps, what);
  };
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0 && seconds_since(start) > budget_s * 0.5) {
      result.cut_by_budget = true;  // keep half the budget for timing
      break;
    }
    Candidate c;
    c.tuning = keys[i].tuning;
    c.kernel = ir::kernel_name(keys[i]);
    Result<std::unique_ptr<Layer>> layer = make_layer(w, keys[i], copies, shared_copies);
    if (layer.ok()) {
      c.failure = check(**layer, w, pool);
    } else {
      c.failure = layer.error().message();
    }
    c.verified = c.failure.empty();
    if (i == 0 && !c.verified) {
      return make_error("kernel {}: the default kernel disagrees with the reference: {}", c.kernel,
                        c.failure);
    }
    const bool usable = c.verified;
    result.candidates.push_back(std::move(c));
    layers.push_back(usable ? std::move(*layer) : nullptr);
    report(fmt::format("check {}", result.candidates.back().kernel));
  }

  // Calls per sample from the default's speed.
  const std::vector<float> xf = sherry::test::random_floats(shape.k, 23);
  const QuantizedActivations x = quantize_activations_i8(xf.data(), 1, shape.k);
  int64_t copy = 0;
  auto call = [&](size_t i) {
    run_call(*layers[i], *layers[i]->kernel, copy++, x, shape.layout.grouping, pool);
  };
  const auto probe_start = Clock::now();
  for (int i = 0; i < 3; ++i) call(0);
  const double call_us = seconds_since(probe_start) / 3 * 1e6;
  const int64_t batch = std::max<int64_t>(1, static_cast<int64_t>(options.min_sample_us / call_us));

  for (int round = 0; round < options.reps; ++round) {
    if (round >= 3 && seconds_since(start) > budget_s) {
      result.cut_by_budget = true;
      break;
    }
    for (size_t i = 0; i < layers.size(); ++i) {
      if (!layers[i]) continue;
      const auto t0 = Clock::now();
      for (int64_t b = 0; b < batch; ++b) call(i);
      result.candidates[i].samples_us.push_back(seconds_since(t0) * 1e6 / batch);
      report(fmt::format("round {} {}", round + 1, result.candidates[i].kernel));
    }
  }
  for (size_t i = 0; i < result.candidates.size(); ++i) {
    Candidate& c = result.candidates[i];
    c.median_us = median(c.samples_us);
    if (c.verified && c.median_us > 0 && c.median_us < result.candidates[result.best].median_us) {
      result.best = i;
    }
  }
  return result;
}

}  // namespace sherry::tune
