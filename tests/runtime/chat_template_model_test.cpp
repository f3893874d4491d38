// The chat template a model file carries (tokenizer.chat_template, read with the vocabulary) and
// the ChatML default for a file without one, through the model's own tokenizer.
#include <doctest/doctest.h>

#include "runtime/chat_template.h"
#include "runtime/llama_model.h"
#include "tiny_llama.h"

namespace sherry::runtime {
namespace {

std::unique_ptr<LlamaModel> load(const testing::TinySpec& spec, const std::string& name) {
  const std::string path = testing::temp_path(name);
  testing::write_tiny_llama(path, spec);
  ModelOptions options;
  options.threads = 1;
  auto model = LlamaModel::load(path, options);
  REQUIRE_MESSAGE(model.ok(), (model.ok() ? "" : model.error().message()));
  return std::move(*model);
}

TEST_CASE("a model's chat template is read with its vocabulary and used with its bos and eos") {
  testing::TinySpec spec;
  spec.chat_template =
      "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}"
      "{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}";
  auto model = load(spec, "chat_template.gguf");
  CHECK(model->tokenizer()->vocab().chat_template == spec.chat_template);
  auto chat = ChatTemplate::for_tokenizer(*model->tokenizer(), "tiny");
  REQUIRE(chat.ok());
  CHECK_FALSE(chat->is_chatml_default());
  auto prompt = chat->apply({{"user", "hello"}}, true);
  REQUIRE(prompt.ok());
  CHECK(*prompt == "<s>[user] hello</s>[assistant] ");
  CHECK(chat->stop_strings() == std::vector<std::string>{"</s>"});
}

TEST_CASE("a model without a chat template gets chatml") {
  auto model = load(testing::TinySpec{}, "no_chat_template.gguf");
  CHECK(model->tokenizer()->vocab().chat_template.empty());
  auto chat = ChatTemplate::for_tokenizer(*model->tokenizer(), "tiny");
  REQUIRE(chat.ok());
  CHECK(chat->is_chatml_default());
  auto prompt = chat->apply({{"system", "Be brief."}, {"user", "hello"}}, true);
  REQUIRE(prompt.ok());
  CHECK(*prompt ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n"
        "<|im_start|>assistant\n");
  CHECK(chat->stop_strings() == std::vector<std::string>{"<|im_end|>"});
}

}  // namespace
}  // namespace sherry::runtime
