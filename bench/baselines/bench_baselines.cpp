// The paper's comparison in one run: GEMV/GEMM time of the 1.25-bit Sherry LUT kernels, the
// 1.67-bit TL2-style kernels (the same LUT generators with TL2 tables) and the 2-bit I2_S-style
// kernels on the same shapes, tokens, threads and hot/cold weights, with the same activation
// quantization and threading. Rows are JSON lines on stdout with bench/kernels' fields plus
// "family" (lut, tl2, i2s), so scripts/make_benchmarks_report.sh merges them; a summary table of
// the ratios goes to stderr. Every family runs at its default tuning (no tuning file); --tuned
// adds the Sherry kernels with the tuning file's entries as family "lut_tuned", each thread count
// with the entry sherry-tune timed at that count. Each layer is
// checked against the reference before it is timed. Timing: per call of jit::Linear::run_with
// (tables/activation preparation included), best and median over batches lasting --min-time;
// cold rotates through copies of the repacked weights totalling at least --cold-mb.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include "build_info/git_commit.h"

#include "baselines/baseline_linear.h"
#include "baselines/ternary_reference.h"
#include "bench/common/bench_clock.h"
#include "bench/common/host_facts.h"
#include "core/reference_kernels.h"
#include "core/thread_pool.h"
#include "jit/cpu_detect.h"
#include "jit/kernel_build.h"
#include "jit/linear.h"
#include "jit/tuning_file.h"
#include "testing/random_tensors.h"

namespace sherry::bench {
namespace {

struct Shape {
  int64_t m, k;
};

struct Options {
  std::vector<std::string> shapes = {"2048x2048", "512x2048", "8192x2048", "2048x8192"};
  std::vector<int64_t> ns = {1, 8};
  std::vector<int> threads = {1, 2};
  std::vector<std::string> modes = {"hot", "cold"};
  std::vector<std::string> families = {"lut", "tl2", "i2s"};
  double min_time = 0.2;
  int64_t cold_mb = 256;
  int64_t i2s_prefetch = ir::kPathDefaultPrefetch;
  bool tuned = false;  // add lut_tuned rows from the tuning file
  double ghz = 0.0;    // core clock for weights/cycle; 0 = measure
};

// A benchmarked layer: `make(pool)` builds it as jit::Linear for a thread pool (the kernels come
// from the cache once), `copies` are copies of its weights that cold calls rotate through
// (jit::Linear::run_with, the call the runtime makes).
struct BenchLayer {
  std::string family;
  std::string name;    // kernel name for N = 1
  std::string name_n;  // kernel name for N > 1 (the largest n_tile)
  ir::Isa isa = ir::Isa::kScalar;
  int64_t stream_bytes = 0;  // bytes read per call: codes, α, initial accumulators, padding
  std::function<Result<std::unique_ptr<jit::Linear>>(ThreadPool*)> make;
  std::vector<std::unique_ptr<jit::LayerWeights>> copies;
};

int64_t copies_for(int64_t bytes, const Options& options, bool cold) {
  return cold ? std::max<int64_t>(2, (options.cold_mb << 20) / bytes + 1) : 1;
}

Result<BenchLayer> make_layer(const std::string& family,
                              std::function<Result<std::unique_ptr<jit::Linear>>(ThreadPool*)> make,
                              const Options& options, bool cold) {
  BenchLayer layer;
  layer.family = family;
  layer.make = std::move(make);
  Result<std::unique_ptr<jit::Linear>> linear = layer.make(nullptr);
  if (!linear.ok()) return linear.error();
  const std::string names = (*linear)->kernel_name();
  const size_t space = names.find(' ');
  layer.name = names.substr(0, space);
  layer.name_n = space == std::string::npos ? names : names.substr(space + 1);
  layer.isa = (*linear)->isa();
  layer.stream_bytes = (*linear)->weights().stream_bytes;
  const int64_t copies = copies_for(layer.stream_bytes, options, cold);
  for (int64_t c = 0; c < copies; ++c) layer.copies.push_back((*linear)->copy_weights());
  return layer;
}

// The rows of one family: its tuning (lut_tuned) and the thread counts it is timed at.
struct FamilyRun {
  std::string family;
  std::optional<ir::Tuning> tuning;
  std::vector<int> threads;
};

jit::LinearOptions linear_options(ThreadPool* pool, int64_t max_n) {
  jit::LinearOptions options;
  options.pool = pool;
  options.max_tokens = max_n;
  return options;
}

struct Timing {
  double best = 0.0;
  double median = 0.0;
};

Timing time_call(double min_time, const std::function<void(int64_t)>& call) {
  call(0);
  std::vector<double> samples;
  int64_t index = 1;
  const auto start = Clock::now();
  while (seconds_since(start) < min_time || samples.size() < 5) {
    const auto t0 = Clock::now();
    call(index++);
    samples.push_back(seconds_since(t0));
  }
  std::sort(samples.begin(), samples.end());
  return {samples.front(), samples[samples.size() / 2]};
}

// Largest |difference| from the float reference relative to the largest |output|.
double check_against(const std::function<void(const QuantizedActivations&, float*)>& reference,
                     jit::Linear& layer, int64_t m, const QuantizedActivations& x) {
  std::vector<float> want(static_cast<size_t>(m)), got(static_cast<size_t>(m));
  reference(x, want.data());
  layer.forward_quantized(x, got.data());
  double worst = 0.0, scale = 1e-30;
  for (int64_t i = 0; i < m; ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(got[i] - want[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(want[i])));
  }
  return worst / scale;
}

int run(const Options& options) {
  // The load before this process added its own: what says whether the machine was quiet.
  const double start_load = load_average();
  const std::string cpu = cpu_brand();
  const double ghz = options.ghz > 0 ? options.ghz : measure_core_ghz();
  // Every family at its defaults (equal terms); --tuned adds the tuning file's Sherry kernels.
  std::optional<jit::TuningFile> tuning_file;
  if (options.tuned) {
    const std::optional<std::string> path = jit::default_tuning_file_path();
    Result<jit::TuningFile> file =
        path ? jit::read_tuning_file(*path, jit::host_signature())
             : Result<jit::TuningFile>(make_error("no tuning file place"));
    if (!file.ok()) {
      std::fprintf(stderr, "error: --tuned: %s\n", file.error().message().c_str());
      return 1;
    }
    tuning_file = std::move(*file);
  }
  jit::set_active_tuning(std::nullopt);
  const ir::Isa isa = jit::best_isa(jit::host_cpu());
  if (!jit::has_generated_kernels(isa)) {
    std::fprintf(stderr, "error: no generated kernels for the %s path here\n",
                 std::string(ir::to_string(isa)).c_str());
    return 1;
  }
  std::vector<Shape> shapes;
  for (const std::string& text : options.shapes) {
    Shape s{};
    if (std::sscanf(text.c_str(), "%ldx%ld", &s.m, &s.k) != 2 || s.m <= 0 || s.k <= 0) {
      std::fprintf(stderr, "error: --shapes: expected MxK with positive M and K, found '%s'\n",
                   text.c_str());
      return 2;
    }
    shapes.push_back(s);
  }
  const int64_t max_n = *std::max_element(options.ns.begin(), options.ns.end());
  const bool cold =
      std::find(options.modes.begin(), options.modes.end(), "cold") != options.modes.end();
  // (m, k, n, threads, mode) -> family -> best µs, for the summary.
  std::map<std::tuple<int64_t, int64_t, int64_t, int, std::string>, std::map<std::string, double>>
      summary;
  int failures = 0;
  for (const Shape& shape : shapes) {
    const TernaryMatrix ternary = [&] {
      const std::vector<float> wf = testing::random_floats(shape.m * shape.k, 1);
      return absmean_ternarize(wf.data(), shape.m, shape.k).value();
    }();
    const PackedTensor sherry_w = testing::random_packed(
        shape.m, shape.k, {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 128}, 1);
    const I2sTensor i2s = pack_i2s(ternary).value();
    const Tl2Tensor tl2 = pack_tl2(ternary).value();
    // One run per family; lut_tuned runs once per thread count with the tuning file's entry
    // timed at that count (a winner at two threads can be slower at one).
    std::vector<FamilyRun> runs;
    for (const std::string& family : options.families) {
      runs.push_back({family, std::nullopt, options.threads});
      if (family != "lut" || !options.tuned || !tuning_file) continue;
      ir::KernelKey key;
      key.isa = isa;
      key.m = shape.m;
      key.k = shape.k;
      key.layout = sherry_w.layout;
      const std::string key_name = jit::tuning_key_name(key);
      for (const int threads : options.threads) {
        if (const jit::TuningEntry* e = tuning_file->find(key_name, threads)) {
          runs.push_back({"lut_tuned", e->tuning, {threads}});
        } else {
          std::fprintf(stderr, "bench_baselines: no tuning file entry for %s at %d thread(s)\n",
                       key_name.c_str(), threads);
        }
      }
    }
    for (const FamilyRun& run : runs) {
      const std::string& family = run.family;
      Result<BenchLayer> layer = [&]() -> Result<BenchLayer> {
        if (family == "lut" || family == "lut_tuned") {
          const std::optional<ir::Tuning> tuning = run.tuning;
          return make_layer(
              family,
              [&, tuning](ThreadPool* pool) {
                jit::LinearOptions o = linear_options(pool, max_n);
                o.isa = isa;
                o.tuning = tuning;
                return jit::make_linear(sherry_w.view(), o);
              },
              options, cold);
        }
        if (family == "tl2") {
          return make_layer(
              family,
              [&](ThreadPool* pool) {
                return jit::make_tl2_linear(tl2, linear_options(pool, max_n));
              },
              options, cold);
        }
        if (family == "i2s") {
          return make_layer(
              family,
              [&](ThreadPool* pool) {
                return jit::make_i2s_linear(i2s, linear_options(pool, max_n),
                                            {0, options.i2s_prefetch});
              },
              options, cold);
        }
        return make_error("--families: expected lut, tl2 or i2s, found '{}'", family);
      }();
      if (!layer.ok()) {
        std::fprintf(stderr, "error: %s\n", layer.error().message().c_str());
        return 1;
      }
      const QuantizedActivations x1 = testing::random_activations(1, shape.k, 5);
      std::unique_ptr<jit::Linear> check_layer = layer->make(nullptr).value();
      const double error = check_against(
          [&](const QuantizedActivations& x, float* y) {
            if (family.starts_with("lut")) {
              std::vector<int32_t> acc(static_cast<size_t>(shape.m * shape.k / 128));
              reference_accumulate_i32(sherry_w.view(), x, acc.data());
              reference_scale_accumulators(sherry_w.view(), x, acc.data(), y);
            } else {
              std::vector<int32_t> acc(static_cast<size_t>(shape.m));
              ternary_accumulate_i32(ternary, x, acc.data());
              ternary_scale_accumulators(ternary, x, acc.data(), y);
            }
          },
          *check_layer, shape.m, x1);
      const bool verified = error < 1e-5;
      if (!verified) {
        ++failures;
        std::fprintf(stderr, "error: %s disagrees with the reference (relative error %.3g)\n",
                     layer->name.c_str(), error);
      }
      const double bits = 8.0 * layer->stream_bytes / static_cast<double>(shape.m * shape.k);
      for (const int64_t n : options.ns) {
        const QuantizedActivations x = testing::random_activations(n, shape.k, 2);
        std::vector<float> y(static_cast<size_t>(n * shape.m));
        for (const int threads : run.threads) {
          ThreadPool pool(threads);
          std::unique_ptr<jit::Linear> timed = layer->make(&pool).value();
          for (const std::string& mode : options.modes) {
            const bool rotate = mode == "cold";
            const Timing timing = time_call(options.min_time, [&](int64_t i) {
              const jit::LayerWeights& w =
                  rotate ? *layer->copies[static_cast<size_t>(i) % layer->copies.size()]
                         : timed->weights();
              timed->run_with(w, x, y.data());
            });
            const double weights = static_cast<double>(shape.m) * shape.k * n;
            const std::string& name = n == 1 ? layer->name : layer->name_n;
            fmt::print(
                "{{\"bench\":\"kernel\",\"impl\":\"sherry\",\"family\":\"{}\",\"kernel\":\"{}\","
                "\"m\":{},\"k\":{},\"n\":{},\"threads\":{},\"regime\":\"{}\",\"us\":{:.2f},"
                "\"us_min\":{:.2f},\"us_median\":{:.2f},\"weights_per_cycle_per_core\":{:.3f},"
                "\"gbps\":{:.2f},\"bits_per_weight\":{:.4f},\"verified\":{},\"rel_error\":{:.3g},"
                "\"copies\":{},\"cpu\":\"{}\",\"core_ghz\":{:.3f},\"isa\":\"{}\","
                "\"loadavg_start\":{:.2f},\"loadavg\":{:.2f},\"date\":\"{}\",\"commit\":\"{}\"}}\n",
                layer->family, name, shape.m, shape.k, n, threads, mode, timing.best * 1e6,
                timing.best * 1e6, timing.median * 1e6,
                weights / (timing.best * ghz * 1e9 * threads),
                layer->stream_bytes / timing.best / 1e9, bits, verified ? "true" : "false", error,
                rotate ? layer->copies.size() : 1, cpu, ghz, ir::to_string(isa), start_load,
                load_average(), utc_now(), SHERRY_GIT_COMMIT);
            std::fflush(stdout);
            summary[{shape.m, shape.k, n, threads, mode}][family] = timing.best * 1e6;
          }
        }
      }
    }
  }
  std::fprintf(stderr, "\n%-11s %4s %3s %-4s %10s %10s %10s %10s %9s %9s %9s\n", "MxK", "N", "thr",
               "mode", "lut us", "tuned us", "tl2 us", "i2s us", "tl2/lut", "i2s/lut", "lut/tuned");
  for (const auto& [key, times] : summary) {
    const auto& [m, k, n, threads, mode] = key;
    auto get = [&](const char* f) {
      auto it = times.find(f);
      return it == times.end() ? 0.0 : it->second;
    };
    const double lut = get("lut"), tuned_us = get("lut_tuned"), t2 = get("tl2"), i2 = get("i2s");
    std::fprintf(stderr, "%-11s %4ld %3d %-4s %10.1f %10.1f %10.1f %10.1f %8.2fx %8.2fx %8.2fx\n",
                 fmt::format("{}x{}", m, k).c_str(), n, threads, mode.c_str(), lut, tuned_us, t2,
                 i2, lut > 0 && t2 > 0 ? t2 / lut : 0.0, lut > 0 && i2 > 0 ? i2 / lut : 0.0,
                 tuned_us > 0 ? lut / tuned_us : 0.0);
  }
  return failures > 0 ? 1 : 0;
}

}  // namespace
}  // namespace sherry::bench

int main(int argc, char** argv) {
  sherry::bench::Options options;
  CLI::App app(
      "bench_baselines: 1.25-bit Sherry vs 1.67-bit TL2-style vs 2-bit I2_S-style kernels, JSON "
      "lines on stdout, ratio summary on stderr");
  app.add_option("--shapes", options.shapes, "MxK shapes")->delimiter(',');
  app.add_option("--n", options.ns, "token counts")->delimiter(',');
  app.add_option("--threads", options.threads, "thread counts")->delimiter(',');
  app.add_option("--modes", options.modes, "hot and/or cold")->delimiter(',');
  app.add_option("--families", options.families, "lut, tl2, i2s")->delimiter(',');
  app.add_option("--min-time", options.min_time, "seconds per measurement");
  app.add_option(
      "--ghz", options.ghz,
      "core clock in GHz for weights/cycle (0: measure; the measurement is wrong under load)");
  app.add_option("--cold-mb", options.cold_mb, "total MB of rotated weight copies (cold)");
  app.add_option("--i2s-prefetch", options.i2s_prefetch,
                 "I2_S weight prefetch distance in bytes (0: none; default: the path's)");
  app.add_flag("--tuned", options.tuned,
               "also time the Sherry kernels with the tuning file's entries (family lut_tuned)");
  CLI11_PARSE(app, argc, argv);
  return sherry::bench::run(options);
}
