// The search behind sherry-tune: per layer shape, every tuning the JIT accepts for this CPU's
// path (row tile × prefetch distance), each checked against the reference before it is timed,
// timed in rounds that interleave the candidates (so drifting load hits them alike), the winner
// chosen by the median of its samples. Cold timing rotates through copies of the repacked weights
// larger than the last-level cache, as decode of a model larger than the cache sees them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "core/weight_layout.h"
#include "ir/kernel_key.h"

namespace sherry::tune {

struct TuneShape {
  int64_t m = 0, k = 0;
  WeightLayout layout;
  // Model tensors of this shape, a stacked group as "q+k+v" (empty for --shapes).
  std::vector<std::string> tensors;
};

// "MxK" (e.g. 2048x8192) with the given layout. Errors name the text.
Result<TuneShape> parse_shape(const std::string& text, const WeightLayout& layout);
// The distinct (shape, layout) of the Sherry layers the runtime runs for a model file: each
// tensor, except q/k/v and gate/up of a block, which count as the one stacked matrix the runtime
// makes of them where their weights allow (runtime/linear_group.h). Errors: the reader's, no
// Sherry tensor in the file.
Result<std::vector<TuneShape>> shapes_from_model(const std::string& path);

enum class Regime : uint8_t { kHot, kCold };
std::string_view to_string(Regime regime);

struct TuneOptions {
  int threads = 1;
  int reps = 9;                 // timing rounds (samples per candidate)
  std::string regime = "auto";  // hot, cold, or auto: cold when the layer streams ≥ 256 KiB
  int64_t cold_mb = 96;         // total size of the rotated copies (cold)
  double min_sample_us = 300;   // a sample averages enough calls to last this long
  std::vector<int64_t> row_tiles = {16, 32, 48, 64, 96, 128, 192, 256};
  std::vector<int64_t> prefetches = {0, 256, 512, 1024, 2048, 4096, 8192, 16384};
  // Skip row tiles holding fewer GEMM tokens per call than the default's (jit::max_n_tile): the
  // layer's prefill kernels use the same tile.
  bool keep_prefill = true;
};

struct Candidate {
  ir::Tuning tuning;      // resolved
  std::string kernel;     // GEMV kernel name
  bool verified = false;  // matched the reference before timing
  std::string failure;    // why not
  std::vector<double> samples_us;
  double median_us = 0.0;
};

struct ShapeResult {
  TuneShape shape;
  ir::Isa isa = ir::Isa::kScalar;
  std::string key_name;  // jit::tuning_key_name
  Regime regime = Regime::kCold;
  std::vector<Candidate> candidates;  // [0] is the default
  size_t best = 0;                    // index of the winner
  bool cut_by_budget = false;         // fewer candidates or rounds than asked for
  int refused = 0;                    // tunings the JIT refused for this path
  int skipped_for_prefill = 0;        // row tiles that would slow prefill (keep_prefill)
};

// Progress: (done, total, what).
using Progress = std::function<void(int64_t, int64_t, const std::string&)>;

// Tunes one shape on the best allowed path within `budget_s` seconds (the default always runs).
// Errors: no generated kernels here, the default kernel failing its check (a JIT bug).
Result<ShapeResult> tune_shape(const TuneShape& shape, const TuneOptions& options, ThreadPool& pool,
                               double budget_s, const Progress& progress = {});

}  // namespace sherry::tune
