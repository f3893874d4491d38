// sherry-train: trains a Llama model (fp, sherry, sherry-noarenas, absmean), evaluates a
// checkpoint and exports it to GGUF. docs/training.md describes the configs and outputs.
//
//   sherry-train train  --config configs/default_fp.json [--steps N] [--out-dir DIR] ...
//   sherry-train eval   --checkpoint runs/x/ckpt_00001000.bin
//   sherry-train export --checkpoint runs/x/ckpt_00001000.bin -o model.gguf [--format sherry]
//   sherry-train bench  --config configs/default_fp.json [--steps 10] [--warmup 2]
//   mpirun -np 2 sherry-train train ...        (data parallel; same trajectory as one process)
// On CPUs whose AVX-512 this OpenBLAS does not use by itself, the program first executes itself
// again with OPENBLAS_CORETYPE set (trainer/qat/blas_core.h).
#include <cmath>
#include <cstdio>
#include <string>

#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "trainer/corpus/token_shards.h"
#include "trainer/qat/blas_core.h"
#include "trainer/qat/checkpoint.h"
#include "trainer/qat/distributed.h"
#include "trainer/qat/export_gguf.h"
#include "trainer/qat/trainer.h"

namespace {

using namespace sherry;
using namespace sherry::train;

int fail(const Error& error) {
  std::fprintf(stderr, "error: %s\n", error.message().c_str());
  return 1;
}

// The config stored in a checkpoint (older checkpoints' fields upgraded).
Result<TrainConfig> checkpoint_config(const Checkpoint& checkpoint, const std::string& path) {
  return train_config_from_json(upgrade_legacy_train_config(checkpoint.config), path + ": config");
}

struct TrainArgs {
  std::string config;
  int64_t steps = -1;
  std::string out_dir;
  std::string method;
  std::string init;
  std::string corpus;
  int threads = -1;
  int64_t seed = -1;
  bool no_resume = false;
  bool no_progress = false;
  int64_t stop_after = -1;
};

int run_train(const TrainArgs& args, Distributed& dist) {
  auto config = load_train_config(args.config);
  if (!config.ok()) return fail(config.error());
  TrainConfig c = *config;
  if (args.steps > 0) c.steps = args.steps;
  if (!args.out_dir.empty()) c.out_dir = args.out_dir;
  if (!args.init.empty()) c.init_checkpoint = args.init;
  if (!args.corpus.empty()) c.corpus_dir = args.corpus;
  if (args.threads >= 0) c.threads = args.threads;
  if (args.seed >= 0) c.seed = static_cast<uint64_t>(args.seed);
  if (args.stop_after >= 0) c.stop_after = args.stop_after;
  if (!args.method.empty()) {
    auto method = parse_quant_method(args.method);
    if (!method.ok()) return fail(method.error().with_context("--method"));
    c.method = *method;
  }
  // Re-validate with the overrides applied.
  auto checked = train_config_from_json(train_config_to_json(c),
                                        args.config + " (with command-line overrides)");
  if (!checked.ok()) return fail(checked.error());
  auto data = load_token_data(c.corpus_dir, c.model.vocab_size, c.model.seq_len);
  if (!data.ok()) return fail(data.error());
  if (dist.is_root())
    std::fprintf(
        stderr,
        "sherry-train: %s, %lld parameters, method %s, %lld steps × %lld tokens "
        "(%d process%s), %zu train / %zu val tokens, out %s\n",
        args.config.c_str(), static_cast<long long>(parameter_count(c.model)),
        std::string(to_string(c.method)).c_str(), static_cast<long long>(c.steps),
        static_cast<long long>(c.batch_size * c.grad_accum * dist.size() * c.model.seq_len),
        dist.size(), dist.size() == 1 ? "" : "es", data->train.size(), data->val.size(),
        c.out_dir.c_str());
  TrainerOptions options;
  options.resume = !args.no_resume;
  options.progress = !args.no_progress;  // a bar on a terminal, periodic lines elsewhere
  auto trainer = Trainer::create(c, std::move(*data), &dist, options);
  if (!trainer.ok()) return fail(trainer.error());
  if ((*trainer)->step() > 0 && dist.is_root())
    std::fprintf(stderr, "sherry-train: resuming at step %lld\n",
                 static_cast<long long>((*trainer)->step()));
  auto summary = (*trainer)->run();
  if (!summary.ok()) return fail(summary.error());
  if (dist.is_root())
    std::printf("steps %lld  final loss %.4f  val loss %.4f  val ppl %.2f  %.0f tokens/s\n",
                static_cast<long long>(summary->last_step),
                summary->losses.empty() ? NAN : summary->losses.back(), summary->val_loss,
                std::exp(summary->val_loss), summary->tokens_per_second);
  return 0;
}

Result<std::unique_ptr<Trainer>> trainer_from_checkpoint(const std::string& path,
                                                         const std::string& corpus, TokenData data,
                                                         int64_t eval_tokens) {
  auto checkpoint = read_checkpoint(path);
  if (!checkpoint.ok()) return checkpoint.error();
  auto config = checkpoint_config(*checkpoint, path);
  if (!config.ok()) return config.error();
  TrainConfig c = *config;
  c.init_checkpoint = path;
  if (!corpus.empty()) c.corpus_dir = corpus;
  if (eval_tokens > 0) c.eval_tokens = eval_tokens;
  TrainerOptions options;
  options.resume = false;
  options.write_metrics = false;
  return Trainer::create(c, std::move(data), nullptr, options);
}

int run_eval(const std::string& checkpoint_file, std::string corpus, int64_t eval_tokens) {
  auto checkpoint = read_checkpoint(checkpoint_file);
  if (!checkpoint.ok()) return fail(checkpoint.error());
  auto config = checkpoint_config(*checkpoint, checkpoint_file);
  if (!config.ok()) return fail(config.error());
  if (corpus.empty()) corpus = config->corpus_dir;
  auto data = load_token_data(corpus, config->model.vocab_size, config->model.seq_len);
  if (!data.ok()) return fail(data.error());
  auto trainer = trainer_from_checkpoint(checkpoint_file, corpus, std::move(*data), eval_tokens);
  if (!trainer.ok()) return fail(trainer.error());
  const EvalResult result = (*trainer)->evaluate();
  std::printf(
      "%s: method %s, eval mode (lambda 0), %lld validation tokens of %s: val loss %.4f  val ppl "
      "%.3f  val bits/byte %.4f\n",
      checkpoint_file.c_str(), std::string(to_string(config->method)).c_str(),
      static_cast<long long>(result.tokens), corpus.c_str(), result.loss, std::exp(result.loss),
      result.bits_per_byte);
  return 0;
}

int run_export(const std::string& checkpoint_file, const std::string& out,
               const std::string& format_text, std::string tokenizer, const std::string& name) {
  auto format = parse_export_format(format_text);
  if (!format.ok()) return fail(format.error().with_context("--format"));
  auto checkpoint = read_checkpoint(checkpoint_file);
  if (!checkpoint.ok()) return fail(checkpoint.error());
  auto config = checkpoint_config(*checkpoint, checkpoint_file);
  if (!config.ok()) return fail(config.error());
  // Evaluation data is not needed: a minimal stand-in satisfies the trainer's checks.
  TokenData data;
  data.train.assign(config->model.seq_len + 2, 0);
  data.val = data.train;
  auto trainer = trainer_from_checkpoint(checkpoint_file, "", std::move(data), 0);
  if (!trainer.ok()) return fail(trainer.error());
  if (tokenizer.empty()) tokenizer = corpus::tokenizer_path(config->corpus_dir);
  if (tokenizer == "none") tokenizer.clear();
  ExportOptions options;
  options.format = *format;
  options.tokenizer_path = tokenizer;
  options.name = name;
  Status status = export_gguf((*trainer)->model(), *config, options, out);
  if (!status.ok()) return fail(status.error());
  std::fprintf(stderr, "sherry-train: wrote %s (%s, method %s)\n", out.c_str(), format_text.c_str(),
               std::string(to_string(config->method)).c_str());
  return 0;
}

struct BenchArgs {
  std::string config;
  int64_t steps = 10;
  int64_t warmup = 2;
  int threads = -1;
  std::string method;
};

// Training steps of a config's model on random tokens (no corpus, no checkpoints, no validation):
// seconds per step and tokens/s, overall and per phase, after `warmup` untimed steps.
int run_bench(const BenchArgs& args) {
  auto config = load_train_config(args.config);
  if (!config.ok()) return fail(config.error());
  TrainConfig c = *config;
  if (args.threads >= 0) c.threads = args.threads;
  if (!args.method.empty()) {
    auto method = parse_quant_method(args.method);
    if (!method.ok()) return fail(method.error().with_context("--method"));
    c.method = *method;
  }
  c.steps = args.warmup + args.steps;
  c.init_checkpoint.clear();
  TokenData data;
  Rng rng(c.seed);
  data.train.resize(1 << 20);
  for (int32_t& t : data.train) t = static_cast<int32_t>(rng.below(c.model.vocab_size));
  data.val.assign(data.train.begin(), data.train.begin() + 4 * (c.model.seq_len + 1));
  TrainerOptions options;
  options.resume = false;
  options.write_metrics = false;
  options.checkpoints = false;
  options.evaluation = false;
  auto trainer = Trainer::create(c, std::move(data), nullptr, options);
  if (!trainer.ok()) return fail(trainer.error());
  auto summary = (*trainer)->run();
  if (!summary.ok()) return fail(summary.error());
  PhaseTimes phases;
  double seconds = 0;
  for (size_t i = static_cast<size_t>(args.warmup); i < summary->step_seconds.size(); ++i) {
    phases += summary->step_phase_seconds[i];
    seconds += summary->step_seconds[i];
  }
  const double steps = static_cast<double>(args.steps);
  const double tokens = static_cast<double>(c.batch_size * c.grad_accum * c.model.seq_len);
  std::printf(
      "sherry-train bench: %s, method %s, %lld parameters, %d threads, %lld tokens/step, "
      "%lld timed steps after %lld warm-up, OpenBLAS core %s\n",
      args.config.c_str(), std::string(to_string(c.method)).c_str(),
      static_cast<long long>(parameter_count(c.model)), (*trainer)->threads(),
      static_cast<long long>(tokens), static_cast<long long>(args.steps),
      static_cast<long long>(args.warmup), openblas_core_name().c_str());
  std::printf("%-10s %12s %8s %14s\n", "phase", "ms/step", "share", "tokens/s");
  nlohmann::json json = {{"config", args.config},
                         {"method", std::string(to_string(c.method))},
                         {"tokens_per_step", tokens},
                         {"steps", args.steps},
                         {"seconds_per_step", seconds / steps},
                         {"tokens_per_second", tokens * steps / seconds}};
  for (size_t p = 0; p < static_cast<size_t>(Phase::kCount); ++p) {
    const double s = phases.seconds[p];
    const std::string name(to_string(static_cast<Phase>(p)));
    std::printf("%-10s %12.2f %7.1f%% %14.0f\n", name.c_str(), 1e3 * s / steps, 100.0 * s / seconds,
                s > 0 ? tokens * steps / s : 0.0);
    json["phase_seconds_per_step"][name] = s / steps;
  }
  std::printf("%-10s %12.2f %7.1f%% %14.0f\n", "step", 1e3 * seconds / steps, 100.0,
              tokens * steps / seconds);
  std::printf("%s\n", json.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  reexec_with_better_openblas_core(argv);
  Distributed dist;  // MPI_Init under mpirun, nothing otherwise
  CLI::App app{
      "sherry-train: quantization-aware training of Llama models (fp, sherry, sherry-noarenas, "
      "absmean)"};
  app.require_subcommand(1);

  TrainArgs train_args;
  auto* train = app.add_subcommand("train", "train (or resume) a run from a JSON config");
  train->add_option("-c,--config", train_args.config, "training config (configs/*.json)")
      ->required();
  train->add_option("--steps", train_args.steps, "override config steps");
  train->add_option("--out-dir", train_args.out_dir, "override config out_dir");
  train->add_option("--method", train_args.method, "override config method");
  train->add_option("--init", train_args.init, "start from this checkpoint's parameters");
  train->add_option("--corpus", train_args.corpus, "override config corpus_dir");
  train->add_option("--threads", train_args.threads,
                    "threads per process (0: all cores / processes)");
  train->add_option("--seed", train_args.seed, "override config seed (data order; initialization)");
  train->add_option("--stop-after", train_args.stop_after,
                    "stop after this step without a checkpoint (testing)");
  train->add_flag("--no-resume", train_args.no_resume, "ignore checkpoints in out_dir");
  train->add_flag("--no-progress", train_args.no_progress, "no progress bar");

  std::string checkpoint, corpus, out, format = "sherry", tokenizer, name = "sherry-default";
  auto* eval = app.add_subcommand(
      "eval",
      "validation loss, perplexity and bits per byte of a checkpoint in eval mode (lambda 0)");
  eval->add_option("--checkpoint", checkpoint, "checkpoint file")->required();
  eval->add_option("--corpus", corpus, "corpus directory (default: the run's)");
  auto* exp = app.add_subcommand("export", "write a checkpoint as GGUF (eval mode, lambda 0)");
  exp->add_option("--checkpoint", checkpoint, "checkpoint file")->required();
  exp->add_option("-o,--output", out, "GGUF file to write")->required();
  exp->add_option("--format", format, "sherry (packed 1.25-bit linears) or float (all F32)");
  exp->add_option("--tokenizer", tokenizer,
                  "SentencePiece model (default: the run's corpus; 'none' to omit)");
  exp->add_option("--name", name, "general.name");
  int64_t eval_tokens = 0;
  eval->add_option("--eval-tokens", eval_tokens,
                   "validation target tokens (default: the run's eval_tokens)");

  BenchArgs bench_args;
  auto* bench = app.add_subcommand(
      "bench", "time training steps of a config's model on random tokens, per phase");
  bench->add_option("-c,--config", bench_args.config, "training config (configs/*.json)")
      ->required();
  bench->add_option("--steps", bench_args.steps, "timed steps")->capture_default_str();
  bench->add_option("--warmup", bench_args.warmup, "untimed steps first")->capture_default_str();
  bench->add_option("--threads", bench_args.threads, "threads (0: all cores)");
  bench->add_option("--method", bench_args.method, "override config method");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (train->parsed()) return run_train(train_args, dist);
  if (eval->parsed()) return run_eval(checkpoint, corpus, eval_tokens);
  if (bench->parsed()) return run_bench(bench_args);
  return run_export(checkpoint, out, format, tokenizer, name);
}
