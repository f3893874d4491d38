// sherry-tune: searches the JIT's tuning parameters (row tile, prefetch distance) for each layer
// shape of a model file, or for shapes given on the command line, on this CPU; writes the winners
// to the tuning file the runtime and sherry-asm load (jit/tuning_file.h, docs/cli.md).
//   sherry-tune --model model.gguf --budget-s 120
//   sherry-tune --shapes 2048x2048,8192x2048,2048x8192 --threads 2 --output tuning.json
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "jit/tuning_file.h"
#include "tools/sherry-tune/tune_search.h"

namespace {

using namespace sherry;

// Redraws in place on a terminal when the percentage changes; elsewhere (logs) one line per
// quarter.
void draw_progress(int64_t done, int64_t total, const std::string& what, const std::string& shape) {
  static int last_percent = -1;
  static const bool tty = ::isatty(STDERR_FILENO) != 0;
  constexpr int kWidth = 30;
  const int percent = total > 0 ? static_cast<int>(100 * done / total) : 100;
  if (percent == last_percent || (!tty && percent % 25 != 0)) return;
  last_percent = percent;
  std::string bar(static_cast<size_t>(kWidth * percent / 100), '#');
  bar.resize(kWidth, '.');
  std::string text = fmt::format("{} [{}] {:3d}% {}", shape, bar, percent, what);
  if (text.size() > 118) text.resize(118);
  if (tty) {
    std::fprintf(stderr, "\r%-120s", text.c_str());
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
}

std::string tuning_text(const ir::Tuning& t) {
  return t.prefetch > 0 ? fmt::format("t{} p{}", t.row_tile, t.prefetch)
                        : fmt::format("t{}", t.row_tile);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "sherry-tune: search the kernel tuning (row tile, prefetch distance) per layer shape on this "
      "CPU and write the tuning file the runtime loads");
  std::string model, output, regime = "auto", grouping_name = "contiguous", scale_name = "group";
  std::vector<std::string> shape_texts;
  int64_t group_size = 128;
  double budget_s = 60.0;
  bool dry_run = false;
  tune::TuneOptions options;
  options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  app.add_option("--model", model, "GGUF model file: tune its distinct Sherry layer shapes");
  app.add_option("--shapes", shape_texts, "MxK shapes (e.g. 2048x8192), comma separated")
      ->delimiter(',');
  app.add_option("--grouping", grouping_name, "for --shapes: contiguous or stride16");
  app.add_option("--scale", scale_name, "for --shapes: group, channel or tensor");
  app.add_option("--group-size", group_size, "for --shapes: weights per scale group");
  app.add_option("--threads", options.threads, "threads the layers run with (default: all)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--budget-s", budget_s, "time budget for the whole search in seconds")
      ->check(CLI::PositiveNumber);
  app.add_option("--reps", options.reps, "timing rounds per candidate (median wins)")
      ->check(CLI::Range(3, 1000));
  app.add_option("--regime", regime,
                 "hot, cold or auto (cold when a layer streams at least 256 KiB: decode)")
      ->check(CLI::IsMember({"hot", "cold", "auto"}));
  app.add_option("--cold-mb", options.cold_mb, "MB of rotated weight copies in the cold regime")
      ->check(CLI::Range(1, 1 << 16));
  app.add_option("--output", output,
                 "tuning file to update (default: $SHERRY_TUNING_FILE, else "
                 "$XDG_CACHE_HOME/sherry/tuning.json or ~/.cache/sherry/tuning.json)");
  app.add_flag("--dry-run", dry_run, "search and print, write nothing");
  bool decode_only = false;
  app.add_flag("--decode-only", decode_only,
               "also try row tiles that hold fewer prefill tokens per call than the default");
  CLI11_PARSE(app, argc, argv);
  options.regime = regime;
  options.keep_prefill = !decode_only;

  auto fail = [](const std::string& message, int code) {
    std::fprintf(stderr, "error: %s\n", message.c_str());
    return code;
  };
  if (model.empty() == shape_texts.empty()) {
    return fail("give either --model FILE or --shapes MxK,... (one of them)", 2);
  }
  std::vector<tune::TuneShape> shapes;
  if (!model.empty()) {
    Result<std::vector<tune::TuneShape>> from_model = tune::shapes_from_model(model);
    if (!from_model.ok()) return fail(from_model.error().message(), 1);
    shapes = std::move(*from_model);
  } else {
    Result<BlockGrouping> grouping = parse_block_grouping(grouping_name);
    if (!grouping.ok()) return fail(grouping.error().message(), 2);
    Result<ScaleGranularity> scale = parse_scale_granularity(scale_name);
    if (!scale.ok()) return fail(scale.error().message(), 2);
    for (const std::string& text : shape_texts) {
      Result<tune::TuneShape> shape =
          tune::parse_shape(text, WeightLayout{*grouping, *scale, group_size});
      if (!shape.ok()) return fail(shape.error().message(), 2);
      shapes.push_back(*shape);
    }
  }
  if (output.empty() && !dry_run) {
    const std::optional<std::string> path = jit::default_tuning_file_path();
    if (!path) {
      return fail(
          "no tuning file place: SHERRY_TUNING_FILE is 'none' or empty and no HOME; "
          "give --output or --dry-run",
          2);
    }
    output = *path;
  }

  ThreadPool pool(options.threads);
  const auto start = std::chrono::steady_clock::now();
  std::vector<tune::ShapeResult> results;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const double spent =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double share = std::max(0.5, (budget_s - spent) / static_cast<double>(shapes.size() - i));
    const tune::TuneShape& shape = shapes[i];
    const std::string label = fmt::format("[{}/{}] {}x{}", i + 1, shapes.size(), shape.m, shape.k);
    Result<tune::ShapeResult> result = tune::tune_shape(
        shape, options, pool, share, [&](int64_t done, int64_t total, const std::string& what) {
          draw_progress(done, total, what, label);
        });
    if (::isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
    if (!result.ok()) return fail(result.error().message(), 1);
    results.push_back(std::move(*result));
  }

  // Summary: default vs tuned per shape.
  fmt::print("{:<12} {:<6} {:>7} {:>10} {:<14} {:>10} {:>8} {:>6}  {}\n", "shape", "regime",
             "threads", "default us", "tuned", "tuned us", "speedup", "tried", "tuned kernel");
  jit::TuningFile file;
  file.cpu = jit::host_signature();
  if (!dry_run) {
    Result<jit::TuningFile> existing = jit::read_tuning_file(output, file.cpu);
    if (existing.ok()) {
      file = std::move(*existing);
    } else if (::access(output.c_str(), F_OK) == 0) {
      std::fprintf(stderr, "sherry-tune: warning: %s; starting a new file\n",
                   existing.error().message().c_str());
    }
  }
  for (const tune::ShapeResult& r : results) {
    const tune::Candidate& def = r.candidates.front();
    const tune::Candidate& best = r.candidates[r.best];
    int timed = 0;
    for (const tune::Candidate& c : r.candidates) timed += c.samples_us.empty() ? 0 : 1;
    fmt::print("{:<12} {:<6} {:>7} {:>10.1f} {:<14} {:>10.1f} {:>7.2f}x {:>6}  {}{}\n",
               fmt::format("{}x{}", r.shape.m, r.shape.k), tune::to_string(r.regime),
               options.threads, def.median_us, tuning_text(best.tuning), best.median_us,
               best.median_us > 0 ? def.median_us / best.median_us : 0.0, timed, best.kernel,
               r.cut_by_budget ? " (budget cut)" : "");
    for (const tune::Candidate& c : r.candidates) {
      if (!c.verified) {
        std::fprintf(stderr, "sherry-tune: %s rejected: %s\n", c.kernel.c_str(), c.failure.c_str());
      }
    }
    jit::TuningEntry entry;
    entry.key = r.key_name;
    entry.tuning = best.tuning;
    entry.kernel = best.kernel;
    entry.threads = options.threads;
    entry.regime = std::string(tune::to_string(r.regime));
    entry.default_us = def.median_us;
    entry.tuned_us = best.median_us;
    file.upsert(std::move(entry));
  }
  if (!dry_run) {
    Status written = jit::write_tuning_file(output, file);
    if (!written.ok()) return fail(written.error().message(), 1);
    std::fprintf(stderr, "sherry-tune: wrote %zu entries to %s (CPU %s)\n", file.entries.size(),
                 output.c_str(), jit::to_string(file.cpu).c_str());
  }
  return 0;
}
