#include "tools/sherry-tune/tune_search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string_view>

#include <fmt/format.h>

#include "core/reference_kernels.h"
#include "jit/cpu_detect.h"
#include "jit/kernel_build.h"
#include "jit/linear.h"
#include "jit/tuning_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/gguf/sherry_tensors.h"
#include "testing/random_tensors.h"

namespace sherry::tune {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Decode of a model larger than the last-level cache reads every layer from memory; only small
// layers may stay in L2 between tokens.
constexpr int64_t kColdThresholdBytes = int64_t{256} << 10;

// One candidate: the layer as the runtime would make it with this tuning, and the weight copies
// its timed calls rotate through.
struct Layer {
  std::unique_ptr<jit::Linear> linear;
  // Shared by the candidates with the same row tile (prefetch does not change the layout).
  std::shared_ptr<std::vector<std::unique_ptr<jit::LayerWeights>>> copies;
  std::vector<float> out;
};

using CopiesByRowTile =
    std::map<int64_t, std::shared_ptr<std::vector<std::unique_ptr<jit::LayerWeights>>>>;

Result<std::unique_ptr<Layer>> make_layer(const PackedTensor& w, const ir::KernelKey& resolved,
                                          int64_t copies, CopiesByRowTile& shared,
                                          ThreadPool& pool) {
  jit::LinearOptions options;
  options.max_tokens = 1;
  options.pool = &pool;
  options.isa = resolved.isa;
  options.tuning = resolved.tuning;
  Result<std::unique_ptr<jit::Linear>> linear = jit::make_linear(w.view(), options);
  if (!linear.ok()) return linear.error();
  auto layer = std::make_unique<Layer>();
  layer->linear = std::move(*linear);
  auto& slot = shared[resolved.tuning.row_tile];
  if (!slot) {
    slot = std::make_shared<std::vector<std::unique_ptr<jit::LayerWeights>>>();
    for (int64_t c = 0; c < copies; ++c) slot->push_back(layer->linear->copy_weights());
  }
  layer->copies = slot;
  layer->out.resize(static_cast<size_t>(w.rows));
  return layer;
}

// One decode call on a copy of the weights.
void run_call(Layer& layer, int64_t copy, const QuantizedActivations& x) {
  layer.linear->run_with(*(*layer.copies)[copy % layer.copies->size()], x, layer.out.data());
}

// Accumulators bit-exact and float outputs within 1e-5 of the largest output; "" when right.
std::string check(Layer& layer, const PackedTensor& w) {
  const QuantizedActivations x = testing::random_activations(1, w.cols, 17);
  const int64_t groups = scale_groups_per_row(w.layout, w.cols);
  std::vector<int32_t> want(static_cast<size_t>(w.rows * groups));
  reference_accumulate_i32(w.view(), x, want.data());
  std::vector<int32_t> got(want.size());
  layer.linear->forward_accumulators(x, got.data());
  for (int64_t m = 0; m < w.rows; ++m) {
    for (int64_t g = 0; g < groups; ++g) {
      const size_t i = static_cast<size_t>(m * groups + g);
      if (got[i] != want[i]) {
        return fmt::format("accumulator of row {} group {} is {}, the reference {}", m, g, got[i],
                           want[i]);
      }
    }
  }
  std::vector<float> want_y(static_cast<size_t>(w.rows));
  reference_scale_accumulators(w.view(), x, want.data(), want_y.data());
  run_call(layer, 0, x);
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

namespace {

// The stacked group `name` belongs to (its block and member names), when it is one of them.
std::optional<std::vector<std::string>> stack_members(const std::string& name) {
  int64_t block = 0;
  int consumed = 0;
  if (std::sscanf(name.c_str(), "blk.%ld.%n", &block, &consumed) != 1 || consumed == 0) {
    return std::nullopt;
  }
  const std::string_view suffix = std::string_view(name).substr(static_cast<size_t>(consumed));
  for (const std::span<const std::string_view> group :
       {std::span<const std::string_view>(gguf::names::kAttnQkv),
        std::span<const std::string_view>(gguf::names::kFfnGateUp)}) {
    if (std::find(group.begin(), group.end(), suffix) == group.end()) continue;
    std::vector<std::string> members;
    for (const std::string_view member : group) {
      members.push_back(gguf::names::block_tensor(block, member));
    }
    return members;
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<TuneShape>> shapes_from_model(const std::string& path) {
  auto reader = gguf::Reader::open(path);
  if (!reader.ok()) return reader.error();
  std::map<std::string, PackedTensorView, std::less<>> sherry;
  std::vector<std::string> order;
  for (const gguf::TensorInfo& info : (*reader)->tensors()) {
    if (info.type != gguf::TensorType::kSherry) continue;
    Result<PackedTensorView> view = gguf::read_sherry_tensor(**reader, info.name);
    if (!view.ok()) return view.error();
    sherry.emplace(info.name, *view);
    order.push_back(info.name);
  }
  if (sherry.empty()) {
    return make_error("{}: no Sherry tensor (type sherry, 1250) in the file to tune for", path);
  }
  std::vector<TuneShape> shapes;
  auto add = [&](int64_t m, int64_t k, const WeightLayout& layout, std::string tensor) {
    auto same = std::find_if(shapes.begin(), shapes.end(), [&](const TuneShape& s) {
      return s.m == m && s.k == k && s.layout == layout;
    });
    if (same == shapes.end()) {
      shapes.push_back({m, k, layout, {}});
      same = shapes.end() - 1;
    }
    same->tensors.push_back(std::move(tensor));
  };
  std::set<std::string, std::less<>> stacked;
  for (const std::string& name : order) {
    if (stacked.contains(name)) continue;
    const PackedTensorView& view = sherry.at(name);
    // Stacked as the runtime stacks them: all members Sherry tensors that rows_stackable
    // allows; the label is the runtime's ("a+b+c").
    if (std::optional<std::vector<std::string>> members = stack_members(name)) {
      std::vector<PackedTensorView> views;
      int64_t rows = 0;
      std::string label;
      for (const std::string& member : *members) {
        const auto it = sherry.find(member);
        if (it == sherry.end()) break;
        views.push_back(it->second);
        rows += it->second.rows;
        label += (label.empty() ? "" : "+") + member;
      }
      if (views.size() == members->size() && rows_stackable(views)) {
        stacked.insert(members->begin(), members->end());
        add(rows, view.cols, view.layout, label);
        continue;
      }
    }
    add(view.rows, view.cols, view.layout, name);
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

  const PackedTensor w = testing::random_packed(shape.m, shape.k, shape.layout, 7);
  // Regime and copies from the default layer's stream size.
  CopiesByRowTile probe_copies;
  Result<std::unique_ptr<Layer>> probe_layer = make_layer(w, *default_key, 1, probe_copies, pool);
  if (!probe_layer.ok()) return probe_layer.error();
  std::unique_ptr<Layer> probe = std::move(*probe_layer);
  const int64_t stream = probe->linear->weights().stream_bytes;
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
    Result<std::unique_ptr<Layer>> layer = make_layer(w, keys[i], copies, shared_copies, pool);
    if (layer.ok()) {
      c.failure = check(**layer, w);
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
  const QuantizedActivations x = testing::random_activations(1, shape.k, 23);
  int64_t copy = 0;
  auto call = [&](size_t i) { run_call(*layers[i], copy++, x); };
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
