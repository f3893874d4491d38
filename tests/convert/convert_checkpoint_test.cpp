// sherry-convert's conversion as a library: the tensor plan against config.json, the options, the
// warnings about accuracy, and converted files that the runtime loads. (The logits of converted
// checkpoints against an independent NumPy forward: convert_logits_test.py.)
#include "tools/sherry-convert/convert_checkpoint.h"

#include <doctest/doctest.h>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/sherry_tensors.h"
#include "runtime/llama_model.h"
#include "tests/convert/checkpoint_files.h"

namespace sherry::hf {
namespace {

namespace fs = std::filesystem;
using testing::f32_tensor;
using testing::RawTensor;

// Plans `tensors` against tiny_config(architecture); returns the error.
std::string plan_error(std::vector<RawTensor> tensors, const std::string& architecture,
                       bool skip_unknown = false, std::vector<std::string>* warnings = nullptr) {
  const auto bytes = testing::safetensors_bytes(tensors);
  auto file = SafetensorsFile::parse(bytes, "m.safetensors");
  REQUIRE_MESSAGE(file.ok(), (file.ok() ? "" : file.error().message()));
  std::vector<const SafetensorsTensor*> list;
  for (const SafetensorsTensor& t : (*file)->tensors()) list.push_back(&t);
  const HfConfig config = parse_hf_config(testing::tiny_config(architecture), "c.json").value();
  auto plan = plan_conversion(config, list, "ckpt", skip_unknown, warnings);
  return plan.ok() ? std::string() : plan.error().message();
}

TEST_CASE("the plan maps every architecture's tensors and permutes llama's q and k") {
  for (const std::string arch : {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"}) {
    const auto tensors = testing::tiny_tensors(arch);
    const auto bytes = testing::safetensors_bytes(tensors);
    auto file = SafetensorsFile::parse(bytes, "m.safetensors");
    REQUIRE(file.ok());
    std::vector<const SafetensorsTensor*> list;
    for (const SafetensorsTensor& t : (*file)->tensors()) list.push_back(&t);
    const HfConfig config = parse_hf_config(testing::tiny_config(arch), "c.json").value();
    auto plan = plan_conversion(config, list, "ckpt", false, nullptr);
    REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.error().message()));
    CHECK(plan->size() == tensors.size());
    auto find = [&](const std::string& gguf) -> const TensorPlan& {
      const auto it = std::find_if(plan->begin(), plan->end(),
                                   [&](const TensorPlan& p) { return p.gguf_name == gguf; });
      REQUIRE(it != plan->end());
      return *it;
    };
    INFO(arch);
    CHECK(find("token_embd.weight").hf_name == "model.embed_tokens.weight");
    CHECK(find("blk.0.attn_q.weight").permute_heads == (arch == "LlamaForCausalLM" ? 4 : 0));
    CHECK(find("blk.0.attn_k.weight").permute_heads == (arch == "LlamaForCausalLM" ? 2 : 0));
    CHECK(find("blk.0.attn_v.weight").permute_heads == 0);
    CHECK(find("blk.0.ffn_down.weight").shape == std::vector<int64_t>{64, 128});
    CHECK(find("output_norm.weight").hf_name == "model.norm.weight");
    if (arch == "Qwen2ForCausalLM")
      CHECK(find("blk.0.attn_k.bias").shape == std::vector<int64_t>{32});
    if (arch == "Qwen3ForCausalLM") {
      CHECK(find("blk.0.attn_q_norm.weight").hf_name == "model.layers.0.self_attn.q_norm.weight");
    }
  }
}

TEST_CASE("plan errors name the tensor and what config.json implies") {
  auto tensors = testing::tiny_tensors();
  tensors.erase(tensors.begin() + 3);  // k_proj
  CHECK(plan_error(tensors, "LlamaForCausalLM") ==
        "ckpt: tensor 'model.layers.0.self_attn.k_proj.weight': expected shape [32, 64] (for "
        "'blk.0.attn_k.weight' of a LlamaForCausalLM), found no such tensor in the checkpoint");
  tensors = testing::tiny_tensors();
  tensors[2] = f32_tensor("model.layers.0.self_attn.q_proj.weight", {64, 32}, 9);
  CHECK(plan_error(tensors, "LlamaForCausalLM") ==
        "m.safetensors: tensor 'model.layers.0.self_attn.q_proj.weight': expected shape [64, 64] "
        "(from config.json), found [64, 32]");
  tensors = testing::tiny_tensors();
  tensors[1] =
      RawTensor{"model.layers.0.input_layernorm.weight", "I32", {64}, std::vector<uint8_t>(256, 0)};
  CHECK(plan_error(tensors, "LlamaForCausalLM") ==
        "m.safetensors: tensor 'model.layers.0.input_layernorm.weight': expected dtype F32, F16 or "
        "BF16, found I32");
  // Qwen2 needs its biases.
  CHECK(plan_error(testing::tiny_tensors(), "Qwen2ForCausalLM") ==
        "ckpt: tensor 'model.layers.0.self_attn.q_proj.bias': expected shape [64] (for "
        "'blk.0.attn_q.bias' of a Qwen2ForCausalLM), found no such tensor in the checkpoint");
}

TEST_CASE("unknown tensors are an error naming them unless skipped with a warning each") {
  auto tensors = testing::tiny_tensors();
  tensors.push_back(f32_tensor("model.layers.0.self_attn.o_proj.bias", {64}, 30));
  tensors.push_back(f32_tensor("vision.patch_embed", {4}, 31));
  tensors.push_back(f32_tensor("model.layers.0.self_attn.rotary_emb.inv_freq", {8}, 32));
  CHECK(plan_error(tensors, "LlamaForCausalLM") ==
        "ckpt: expected only the tensors of a LlamaForCausalLM, found 2 others: "
        "model.layers.0.self_attn.o_proj.bias, vision.patch_embed (--skip-unknown converts "
        "without them)");
  std::vector<std::string> warnings;
  CHECK(plan_error(tensors, "LlamaForCausalLM", true, &warnings).empty());
  CHECK(warnings == std::vector<std::string>{
                        "skipped tensor 'model.layers.0.self_attn.o_proj.bias' (not part of a "
                        "LlamaForCausalLM)",
                        "skipped tensor 'vision.patch_embed' (not part of a LlamaForCausalLM)"});
  // A tied model's lm_head is dropped with a warning; it is the embedding.
  tensors = testing::tiny_tensors();
  tensors.push_back(f32_tensor("lm_head.weight", {300, 64}, 33));
  warnings.clear();
  CHECK(plan_error(tensors, "LlamaForCausalLM", false, &warnings).empty());
  CHECK(warnings == std::vector<std::string>{"lm_head.weight skipped: tie_word_embeddings is "
                                             "true, so the LM head is the token embedding"});
}

TEST_CASE("convert options are checked word by word") {
  auto error = [](const ConvertOptions& o) {
    return validate_convert_options(o).error().message();
  };
  ConvertOptions o;
  o.type = "q4_k";
  CHECK(error(o) == "--type: expected sherry, stq1_0, f16, bf16 or f32, found 'q4_k'");
  o.type = "f16";
  o.group_size = 64;
  CHECK(error(o) ==
        "--group-size: expected only with --type sherry or stq1_0, found --type f16 (which writes "
        "every weight matrix as f16)");
  o = ConvertOptions{};
  o.type = "bf16";
  o.output_type = "q8_0";
  CHECK(error(o) ==
        "--output-type: expected only with --type sherry or stq1_0, found --type bf16 (which "
        "writes every weight matrix as bf16)");
  o = ConvertOptions{};
  o.embd_type = "q4";
  CHECK(error(o) == "--embd-type: expected q4_k, q5_k, q6_k, q8_0, f16 or keep, found 'q4'");
  o = ConvertOptions{};
  o.type = "stq1_0";
  o.group_size = 128;
  CHECK(error(o) ==
        "--type stq1_0 fixes the scales (group scales of 256): expected no --group-size or "
        "--granularity, found --group-size");
  CHECK(validate_convert_options(ConvertOptions{}).ok());
}

// Converts the tiny checkpoint (with `extra` config fields) and loads the result.
struct Converted {
  ConvertReport report;
  std::string path;
};
Converted convert(const std::string& name, const ConvertOptions& options,
                  const std::string& architecture = "LlamaForCausalLM",
                  const std::string& extra = "", int64_t hidden = 64) {
  const fs::path dir = testing::temp_dir(name);
  testing::write_tiny_checkpoint(dir, architecture, extra, hidden);
  const std::string out = (dir / "out.gguf").string();
  auto report = convert_checkpoint(dir.string(), out, options);
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().message()));
  return {std::move(*report), out};
}

TEST_CASE("converted files load in the runtime with the types asked for") {
  ConvertOptions options;
  options.group_size = 64;  // the tiny model's rows are 64 wide
  for (const std::string arch : {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"}) {
    const Converted c = convert("load", options, arch);
    INFO(arch);
    runtime::ModelOptions model_options;
    model_options.threads = 1;
    auto model = runtime::LlamaModel::load(c.path, model_options);
    REQUIRE_MESSAGE(model.ok(), (model.ok() ? "" : model.error().message()));
    CHECK((*model)->config().vocab == 300);
    CHECK((*model)->tokenizer()->bos() == 256);
    auto reader = gguf::Reader::open(c.path);
    REQUIRE(reader.ok());
    CHECK((*reader)->find_tensor("blk.0.attn_q.weight")->type == gguf::TensorType::kSherry);
    CHECK((*reader)->find_tensor("token_embd.weight")->type == gguf::TensorType::kQ8_0);
    CHECK((*reader)->find_tensor("output.weight") == nullptr);  // tied
    CHECK((*reader)->get_string("general.architecture").value() ==
          gguf_architecture(parse_hf_config(testing::tiny_config(arch), "c").value().architecture));
    CHECK(c.report.tensors.tensors.size() == testing::tiny_tensors(arch).size());
  }
  ConvertOptions f16;
  f16.type = "f16";
  const Converted c = convert("f16", f16);
  auto reader = gguf::Reader::open(c.path);
  REQUIRE(reader.ok());
  CHECK((*reader)->find_tensor("blk.0.ffn_up.weight")->type == gguf::TensorType::kF16);
  CHECK((*reader)->find_tensor("token_embd.weight")->type == gguf::TensorType::kF16);
  CHECK((*reader)->find_tensor("blk.0.attn_norm.weight")->type == gguf::TensorType::kF32);
  CHECK((*reader)->get_int("general.file_type").value() == 1);
  CHECK(c.report.warnings.empty());
}

TEST_CASE("conversion warns about accuracy unless the model was trained 3 of 4 as converted") {
  ConvertOptions options;
  options.group_size = 64;
  Converted c = convert("untrained", options);
  REQUIRE(c.report.warnings.size() == 1);
  CHECK(c.report.warnings[0].find("config.json says nothing of 3:4 sparse ternary training") == 0);

  // AngelSlim's fields: contiguous groups of 64 by default, no warning.
  const std::string trained =
      R"("quant_method":"sherry","granularity":"per_group","group_size":64,"N":3,"M":4)";
  c = convert("trained", ConvertOptions{}, "LlamaForCausalLM", trained);
  CHECK(c.report.warnings.empty());
  auto reader = gguf::Reader::open(c.path);
  REQUIRE(reader.ok());
  auto view = gguf::read_sherry_tensor(**reader, "blk.0.ffn_down.weight");  // rows of 128
  REQUIRE(view.ok());
  CHECK(view->layout == WeightLayout{BlockGrouping::kContiguous, ScaleGranularity::kGroup, 64});

  // STQ1_0 regroups the trained quads (stride16) and changes the scale groups (256): both said;
  // --grouping contiguous keeps the quads and says only the scales.
  const std::string trained128 =
      R"("quant_method":"sherry","granularity":"per_group","group_size":128,"N":3,"M":4)";
  ConvertOptions stq;
  stq.type = "stq1_0";
  c = convert("stq", stq, "LlamaForCausalLM", trained128, 256);
  REQUIRE(c.report.warnings.size() == 2);
  CHECK(c.report.warnings[0] ==
        "the model was trained with 3:4 blocks of consecutive weights; --type stq1_0 groups "
        "weights 16 apart (stride16, llama.cpp's STQ1_0 layout), so the trained pattern is "
        "re-derived from the latent weights and accuracy drops (--grouping contiguous keeps it, in "
        "an STQ1_0 file only sherry reads)");
  CHECK(c.report.warnings[1] ==
        "the model was trained with group scales of 128; this file has group scales of 256: the "
        "ternary pattern stays, the scales change, and accuracy drops a little");
  stq.grouping = "contiguous";
  c = convert("stq_contiguous", stq, "LlamaForCausalLM", trained128, 256);
  REQUIRE(c.report.warnings.size() == 1);
  CHECK(c.report.warnings[0].find("group scales of 128") != std::string::npos);
  reader = gguf::Reader::open(c.path);
  REQUIRE(reader.ok());
  CHECK(gguf::stq1_0_grouping(**reader).value() == BlockGrouping::kContiguous);
  runtime::ModelOptions model_options;
  model_options.threads = 1;
  CHECK(runtime::LlamaModel::load(c.path, model_options).ok());
  // The tiny model's 64-wide rows cannot be STQ1_0 blocks of 256: the error names the tensor.
  const fs::path dir = testing::temp_dir("stq_narrow");
  testing::write_tiny_checkpoint(dir);
  auto failed = convert_checkpoint(dir.string(), (dir / "out.gguf").string(), stq);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().message().find("blk.0.attn_q.weight") != std::string::npos);
  CHECK(failed.error().message().find("256") != std::string::npos);
}

TEST_CASE("conversion errors name the folder and the file") {
  const fs::path dir = testing::temp_dir("errors");
  CHECK(convert_checkpoint(dir.string(), (dir / "o.gguf").string(), ConvertOptions{})
            .error()
            .message() ==
        (dir / "config.json").string() + ": cannot read: No such file or directory");
  testing::write_tiny_checkpoint(dir);
  // A tokenizer.json of 600 MB (sparse: no disk used) is not one.
  fs::resize_file(dir / "tokenizer.json", uintmax_t{600} << 20);
  CHECK(convert_checkpoint(dir.string(), (dir / "o.gguf").string(), ConvertOptions{})
            .error()
            .message() == dir.string() +
                              ": expected tokenizer.json (the tokenizer in Hugging Face's format), "
                              "found none: " +
                              (dir / "tokenizer.json").string() +
                              ": expected a text file of at most 536870912 bytes, found 629145600 "
                              "bytes");
  fs::remove(dir / "tokenizer.json");
  CHECK(convert_checkpoint(dir.string(), (dir / "o.gguf").string(), ConvertOptions{})
            .error()
            .message() == dir.string() +
                              ": expected tokenizer.json (the tokenizer in Hugging Face's format), "
                              "found none: " +
                              (dir / "tokenizer.json").string() +
                              ": cannot read: No such file or directory");
}

}  // namespace
}  // namespace sherry::hf
