// config.json: what sherry-convert reads, and an error naming the key for everything it cannot
// convert.
#include "tools/sherry-convert/hf_config.h"

#include <doctest/doctest.h>

#include "tests/convert/checkpoint_files.h"

namespace sherry::hf {
namespace {

using testing::tiny_config;

std::string config_error(const std::string& text) {
  auto config = parse_hf_config(text, "c.json");
  REQUIRE_FALSE(config.ok());
  return config.error().message();
}

TEST_CASE("a llama config reads with its defaults") {
  const HfConfig c = parse_hf_config(tiny_config(), "c.json").value();
  CHECK(c.architecture == HfArchitecture::kLlama);
  CHECK(c.hidden == 64);
  CHECK(c.layers == 1);
  CHECK(c.heads == 4);
  CHECK(c.kv_heads == 2);
  CHECK(c.head_dim == 16);
  CHECK_FALSE(c.explicit_head_dim);
  CHECK(c.ffn == 128);
  CHECK(c.vocab == 300);
  CHECK(c.context == 128);
  CHECK(c.rms_eps == 1e-5);
  CHECK(c.rope_theta == 10000.0);
  CHECK(c.rope_scaling.empty());
  CHECK(c.tie_embeddings);
  CHECK_FALSE(c.attention_bias);
  CHECK(c.bos_ids.empty());
  CHECK_FALSE(c.training.has_value());
  CHECK(gguf_architecture(c.architecture) == "llama");
}

TEST_CASE("qwen configs get their biases head_dim rope and token ids") {
  const HfConfig q2 = parse_hf_config(tiny_config("Qwen2ForCausalLM",
                                                  R"("use_sliding_window":false,)"
                                                  R"("bos_token_id":151643,"eos_token_id":[1,2])"),
                                      "c.json")
                          .value();
  CHECK(q2.architecture == HfArchitecture::kQwen2);
  CHECK(q2.attention_bias);
  CHECK(q2.bos_ids == std::vector<int64_t>{151643});
  CHECK(q2.eos_ids == std::vector<int64_t>{1, 2});
  const HfConfig q3 =
      parse_hf_config(tiny_config("Qwen3ForCausalLM",
                                  R"("head_dim":32,"rope_parameters":{"rope_theta":1000000.0,)"
                                  R"("rope_type":"default"})"),
                      "c.json")
          .value();
  CHECK(q3.head_dim == 32);
  CHECK(q3.explicit_head_dim);
  CHECK(q3.rope_theta == 1000000.0);
  CHECK(gguf_architecture(q3.architecture) == "qwen3");
  const HfConfig l31 =
      parse_hf_config(
          tiny_config("LlamaForCausalLM", R"("rope_scaling":{"rope_type":"llama3","factor":32.0,)"
                                          R"("low_freq_factor":1.0,"high_freq_factor":4.0,)"
                                          R"("original_max_position_embeddings":8192})"),
          "c.json")
          .value();
  CHECK(l31.rope_scaling == "llama3");
  CHECK(l31.rope_factor == 32.0);
  CHECK(l31.rope_original_context == 8192);
  const HfConfig linear =
      parse_hf_config(
          tiny_config("LlamaForCausalLM", R"("rope_scaling":{"type":"linear","factor":2.0})"),
          "c.json")
          .value();
  CHECK(linear.rope_scaling == "linear");
  CHECK(linear.rope_factor == 2.0);
}

TEST_CASE("angelslim's training fields are read") {
  const HfConfig c =
      parse_hf_config(tiny_config("LlamaForCausalLM",
                                  R"("w_bits":0,"quant_method":"sherry","granularity":"per_group",)"
                                  R"("group_size":128,"N":3,"M":4)"),
                      "c.json")
          .value();
  REQUIRE(c.training.has_value());
  CHECK(c.training->quant_method == "sherry");
  CHECK(c.training->granularity == "per_group");
  CHECK(c.training->group_size == 128);
  CHECK(c.training->n == 3);
  CHECK(c.training->m == 4);
}

TEST_CASE("config errors name the key and what was found") {
  CHECK(config_error("{").rfind("c.json: expected valid JSON, found: ", 0) == 0);
  CHECK(config_error("[]") == "c.json: expected a JSON object, found array");
  CHECK(config_error(tiny_config("MistralForCausalLM")) ==
        "c.json: key 'architectures': expected [\"LlamaForCausalLM\"], [\"Qwen2ForCausalLM\"] or "
        "[\"Qwen3ForCausalLM\"], found array [\"MistralForCausalLM\"]");
  CHECK(config_error(R"({"architectures":["LlamaForCausalLM"]})") ==
        "c.json: key 'hidden_size': expected an integer in [1, 1048576], found no such key");
  CHECK(config_error(R"({"architectures":["LlamaForCausalLM"],"hidden_size":"64"})") ==
        "c.json: key 'hidden_size': expected an integer in [1, 1048576], found string \"64\"");
  CHECK(config_error(tiny_config("LlamaForCausalLM", R"("num_attention_heads":3)")) ==
        "c.json: expected unique keys, found 'num_attention_heads' twice");
  const std::string base =
      R"({"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,)"
      R"("num_hidden_layers":1,"vocab_size":300,)";
  CHECK(config_error(base + R"("num_attention_heads":3})") ==
        "c.json: key 'num_attention_heads': expected a divisor of hidden_size 64 (or a head_dim), "
        "found number 3");
  CHECK(config_error(base + R"("num_attention_heads":4,"num_key_value_heads":3})") ==
        "c.json: key 'num_key_value_heads': expected a divisor of num_attention_heads 4, found "
        "number 3");
  CHECK(config_error(base + R"("num_attention_heads":4,"num_key_value_heads":8})") ==
        "c.json: key 'num_key_value_heads': expected an integer in [1, 4], found number 8");
  CHECK(config_error(base + R"("num_attention_heads":4,"head_dim":15})") ==
        "c.json: key 'head_dim': expected an even head width (RoPE pairs), found 15");
  CHECK(config_error(base + R"("num_attention_heads":4,"hidden_act":"gelu"})") ==
        "c.json: key 'hidden_act': expected \"silu\" (SwiGLU), found string \"gelu\"");
  CHECK(config_error(base + R"("num_attention_heads":4,"mlp_bias":true})") ==
        "c.json: key 'mlp_bias': expected false (sherry has no MLP biases), found boolean true");
  CHECK(config_error(base + R"("num_attention_heads":4,"attention_bias":true})") ==
        "c.json: key 'attention_bias': expected false (it adds an o_proj bias, which sherry does "
        "not run), found boolean true");
  CHECK(config_error(tiny_config("Qwen2ForCausalLM", R"("use_sliding_window":true)")) ==
        "c.json: key 'use_sliding_window': expected false (sherry runs full attention only), "
        "found boolean true");
  CHECK(config_error(tiny_config("LlamaForCausalLM", R"("rope_scaling":{"rope_type":"yarn"})")) ==
        "c.json: key 'rope_scaling': expected rope_type default, linear or llama3 (what sherry's "
        "runtime computes), found \"yarn\"");
  CHECK(config_error(tiny_config("LlamaForCausalLM", R"("rope_scaling":{"rope_type":"linear"})")) ==
        "c.json: key 'rope_scaling': key 'factor': expected a number in [1e-06, 1000000], found no "
        "such key");
  CHECK(config_error(tiny_config("LlamaForCausalLM",
                                 R"("rope_scaling":{"rope_type":"llama3","factor":8.0})")) ==
        "c.json: key 'rope_scaling': key 'original_max_position_embeddings': expected an integer "
        "in [1, 16777216], found no such key");
  CHECK(config_error(tiny_config("LlamaForCausalLM",
                                 R"("rope_scaling":{"rope_type":"llama3","factor":8.0,)"
                                 R"("low_freq_factor":4.0,"high_freq_factor":1.0,)"
                                 R"("original_max_position_embeddings":8192})")) ==
        "c.json: key 'rope_scaling': key 'high_freq_factor': expected a value above "
        "low_freq_factor, found number 1.0");
  CHECK(config_error(tiny_config("LlamaForCausalLM", R"("rope_scaling":3)")) ==
        "c.json: key 'rope_scaling': expected an object, found number 3");
  CHECK(config_error(base + R"("num_attention_heads":4,"rms_norm_eps":2.0})") ==
        "c.json: key 'rms_norm_eps': expected a number in [1e-12, 1], found number 2.0");
  CHECK(config_error(tiny_config("LlamaForCausalLM", R"("eos_token_id":[1,"x"])")) ==
        "c.json: key 'eos_token_id': expected a token id or a list of token ids, found array "
        "[1,\"x\"]");
  CHECK(config_error(base + R"("num_attention_heads":4,"tie_word_embeddings":1})") ==
        "c.json: key 'tie_word_embeddings': expected true or false, found number 1");
  CHECK(config_error(tiny_config("LlamaForCausalLM", R"("quant_method":"sherry","N":"3")")) ==
        "c.json: key 'N': expected an integer in [0, 64], found string \"3\"");
}

}  // namespace
}  // namespace sherry::hf
