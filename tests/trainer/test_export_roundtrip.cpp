// The exported GGUF through the runtime's forward pass reproduces the trainer's eval-mode logits:
// the float export within float rounding (same architecture, RoPE pairing, GQA mapping, tensor
// orientation), the Sherry-packed export within the error of the runtime's int8 activations.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "core/sparse_absmean.h"
#include "runtime/chat_template.h"
#include "runtime/llama_model.h"
#include "tests/gguf/walk_check.h"
#include "tests/trainer/tiny_run.h"
#include "trainer/corpus/tokenizer.h"
#include "trainer/qat/export_gguf.h"
#include "trainer/qat/trainer.h"

namespace sherry::train {
namespace {

TrainConfig export_config(QuantMethod method, const std::string& dir) {
  TrainConfig c = testing::tiny_train_config(method, dir);
  c.model.dim = 64;
  c.model.hidden_dim = 128;
  c.model.n_heads = 4;
  c.model.n_kv_heads = 2;
  c.model.seq_len = 16;
  c.group_size = 32;
  c.steps = 6;
  c.checkpoint_every = 0;
  c.eval_every = 0;
  return c;
}

// The file export_gguf must have written, from docs/training.md ("Export") and docs/gguf.md: the
// llama keys of the config, the training method, and every slot in order: F32 [cols, rows]
// ([cols] for a vector) holding the eval-mode forward weight, or for a linear in the sherry
// format the Sparse-AbsMean packing of its latent weight. Checked with the independent MiniWalker.
void check_exported_file(const std::string& path, LlamaModel<float>& model,
                         const TrainConfig& config, ExportFormat format) {
  using gguf::make_float;
  using gguf::make_string;
  using gguf::make_uint;
  using gguf::ValueType;
  const ModelConfig& c = model.config();
  auto u32 = [](int64_t v) { return make_uint(ValueType::kUint32, static_cast<uint64_t>(v)); };
  gguf::testing::WrittenFile file;
  file.metadata = {
      {"general.architecture", make_string("llama")},
      {"general.name", make_string("sherry-default")},
      {"llama.context_length", u32(c.seq_len)},
      {"llama.embedding_length", u32(c.dim)},
      {"llama.block_count", u32(c.n_layers)},
      {"llama.feed_forward_length", u32(c.hidden_dim)},
      {"llama.attention.head_count", u32(c.n_heads)},
      {"llama.attention.head_count_kv", u32(c.n_kv_heads)},
      {"llama.attention.layer_norm_rms_epsilon", make_float(ValueType::kFloat32, c.norm_eps)},
      {"llama.rope.freq_base", make_float(ValueType::kFloat32, c.rope_theta)},
      {"llama.rope.dimension_count", u32(c.dim / c.n_heads)},
      {"llama.vocab_size", u32(c.vocab_size)},
      {"sherry.training.method", make_string(std::string(to_string(config.method)))},
  };
  for (const TensorSlot& s : model.slots()) {
    if (s.role == TensorRole::kLinear && format == ExportFormat::kSherry) {
      auto packed = quantize_sparse_absmean(model.params().data() + s.offset, s.rows, s.cols,
                                            config.layout());
      REQUIRE(packed.ok());
      const std::string base = s.name.substr(0, s.name.size() - std::string(".weight").size());
      gguf::testing::add_sherry_written(file, s.name, base + ".scale", *packed);
      continue;
    }
    std::vector<uint64_t> dims = {static_cast<uint64_t>(s.cols)};
    if (s.rows > 1) dims.push_back(static_cast<uint64_t>(s.rows));
    file.tensors.push_back(
        {s.name, 0, dims,
         gguf::testing::bytes_of(model.forward_weight(s), static_cast<size_t>(s.size()))});
  }
  gguf::testing::check_walk(path, file);
}

// Largest |a − b| relative to the largest |a|.
double relative_max_error(const float* a, const float* b, int64_t count) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < count; ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(a[i])));
  }
  return diff / scale;
}

void check_round_trip(QuantMethod method, ExportFormat format, jit::KernelBackend backend,
                      double tolerance, bool tied) {
  testing::TempDir dir("export");
  TrainConfig config = export_config(method, dir.path());
  config.model.tied_embeddings = tied;
  auto trainer = Trainer::create(config, testing::synthetic_data(), nullptr, TrainerOptions{});
  REQUIRE(trainer.ok());
  REQUIRE((*trainer)->run().ok());
  LlamaModel<float>& model = (*trainer)->model();

  const std::string path = dir.path() + "/model.gguf";
  ExportOptions options;
  options.format = format;
  REQUIRE_MESSAGE(export_gguf(model, config, options, path).ok(), "export failed");
  check_exported_file(path, model, config, format);
  const std::vector<int32_t> tokens = {1, 4, 9, 17, 3, 3, 20, 11, 0, 7, 23, 5};
  const int64_t n = static_cast<int64_t>(tokens.size()), vocab = config.model.vocab_size;
  model.forward(tokens.data(), nullptr, 1, n);  // export left the model in eval mode
  const std::vector<float> expected(model.logits(), model.logits() + n * vocab);

  runtime::ModelOptions runtime_options;
  runtime_options.backend = backend;
  // F32 KV cache: the default F16 one rounds keys and values (2⁻¹¹), which would hide the float
  // export's F32-level agreement.
  runtime_options.kv_type = runtime::KvType::kF32;
  runtime_options.need_tokenizer = false;
  runtime_options.threads = 2;
  auto loaded = runtime::LlamaModel::load(path, runtime_options);
  REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().message()));
  auto logits = (*loaded)->forward(tokens, 0, true);
  REQUIRE_MESSAGE(logits.ok(), (logits.ok() ? "" : logits.error().message()));
  REQUIRE(static_cast<int64_t>(logits->size()) == n * vocab);
  const double error = relative_max_error(expected.data(), logits->data(), n * vocab);
  INFO("method " << to_string(method) << " format " << to_string(format) << " tied " << tied
                 << ": max |trainer - runtime| / max |trainer| = " << error);
  MESSAGE("MEASURE export " << to_string(method) << " " << error);
  CHECK(error < tolerance);
  // The prediction at every position agrees.
  int64_t agree = 0;
  for (int64_t t = 0; t < n; ++t) {
    const float* a = expected.data() + t * vocab;
    const float* b = logits->data() + t * vocab;
    agree += std::max_element(a, a + vocab) - a == std::max_element(b, b + vocab) - b;
  }
  CHECK(agree >= n - 1);
}

// Float export: F32 weights and F32 arithmetic on both sides, summed in other orders (the
// trainer's GEMMs against the runtime's blocked dot products): about ε_f32·√K per product through
// a few layers, ~1e-6 relative. Measured 5.8e-7 (fp, tied), 1.9e-7 (fp), 2.0e-7 (absmean).
constexpr double kFloatExportTolerance = 1e-5;

TEST_CASE("the runtime reproduces the trainer's logits on a float export") {
  check_round_trip(QuantMethod::kFp, ExportFormat::kFloat, jit::KernelBackend::kReference,
                   kFloatExportTolerance, true);
  check_round_trip(QuantMethod::kFp, ExportFormat::kFloat, jit::KernelBackend::kReference,
                   kFloatExportTolerance, false);
  check_round_trip(QuantMethod::kAbsmean, ExportFormat::kFloat, jit::KernelBackend::kReference,
                   kFloatExportTolerance, true);
}

TEST_CASE("the runtime reproduces the trainer's eval-mode logits on a sherry-packed export") {
  // int8 activations per token (runtime) against float activations (trainer) and fp16 α.
  check_round_trip(QuantMethod::kSherry, ExportFormat::kSherry, jit::KernelBackend::kReference,
                   0.03, true);
  check_round_trip(QuantMethod::kSherry, ExportFormat::kSherry, jit::KernelBackend::kJit, 0.03,
                   true);
  check_round_trip(QuantMethod::kSherryNoArenas, ExportFormat::kSherry,
                   jit::KernelBackend::kReference, 0.03, false);
}

TEST_CASE("the export writes the tokenizer with chatml as its chat template") {
  testing::TempDir dir("export_chat");
  TrainConfig config = export_config(QuantMethod::kSherry, dir.path());
  config.model.vocab_size = 400;
  auto trainer = Trainer::create(config, testing::synthetic_data(), nullptr, TrainerOptions{});
  REQUIRE(trainer.ok());
  std::vector<std::string> sentences;
  const char* const kLines[] = {
      "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
      "must be in want of a wife.",
      "In the beginning, God created the heavens and the earth.",
      "Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition.",
  };
  for (int repeat = 0; repeat < 30; ++repeat) {
    for (const char* line : kLines) sentences.push_back(line + std::to_string(repeat));
  }
  auto spm = corpus::train_tokenizer(sentences, {340, true});
  REQUIRE_MESSAGE(spm.ok(), (spm.ok() ? "" : spm.error().message()));
  const std::string spm_path = dir.path() + "/tokenizer.model";
  std::ofstream(spm_path, std::ios::binary) << *spm;
  runtime::ModelOptions runtime_options;
  runtime_options.threads = 1;
  for (const bool with_template : {true, false}) {
    ExportOptions options;
    options.tokenizer_path = spm_path;
    if (!with_template) options.chat_template.clear();
    const std::string path = dir.path() + "/chat.gguf";
    REQUIRE(export_gguf((*trainer)->model(), config, options, path).ok());
    auto loaded = runtime::LlamaModel::load(path, runtime_options);
    REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().message()));
    const runtime::Tokenizer& tokenizer = *(*loaded)->tokenizer();
    CHECK(tokenizer.vocab().chat_template ==
          (with_template ? std::string(gguf::kChatMlTemplate) : std::string()));
    auto chat = runtime::ChatTemplate::for_tokenizer(tokenizer, path);
    REQUIRE(chat.ok());
    CHECK(chat->is_chatml_default() != with_template);
    auto prompt = chat->apply({{"user", "Hi"}}, true);
    REQUIRE(prompt.ok());
    CHECK(*prompt == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    CHECK(chat->stop_strings() == std::vector<std::string>{"<|im_end|>"});
  }
}

}  // namespace
}  // namespace sherry::train
