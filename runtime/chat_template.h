// A conversation → the prompt text a chat model expects: the model's tokenizer.chat_template (a
// Jinja template, runtime/jinja/template.h) with the variables Hugging Face's apply_chat_template
// passes (messages, add_generation_prompt, bos_token, eos_token), or ChatML when the file has
// none (sherry's own models). Also the text that ends an assistant turn in this template (ChatML's
// <|im_end|>, Llama 3's <|eot_id|>, Gemma's <end_of_turn>): generation stops there, as at EOS.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "runtime/gguf/chatml_template.h"
#include "runtime/jinja/template.h"

namespace sherry::runtime {

class Tokenizer;

struct ChatMessage {
  std::string role;
  std::string content;
};

class ChatTemplate {
 public:
  // `source` "" gives ChatML. `name` names the template in errors. bos_token / eos_token are the
  // texts the template may print. Errors: a template that does not parse.
  static Result<ChatTemplate> create(std::string_view source, std::string name,
                                     std::string bos_token, std::string eos_token);
  // The tokenizer's vocabulary's chat template (or ChatML) with its BOS and EOS texts.
  static Result<ChatTemplate> for_tokenizer(const Tokenizer& tokenizer, std::string name);

  // The prompt for `messages` (a JSON array of {role, content, ...} objects, passed to the
  // template as they are), ending with the assistant's header when add_generation_prompt.
  // Errors: the template's own (raise_exception: e.g. roles that must alternate).
  Result<std::string> apply_json(const nlohmann::ordered_json& messages,
                                 bool add_generation_prompt) const;
  Result<std::string> apply(const std::vector<ChatMessage>& messages,
                            bool add_generation_prompt) const;

  // The texts that end an assistant turn (empty when the template shows none beyond EOS).
  const std::vector<std::string>& stop_strings() const { return stop_strings_; }
  bool is_chatml_default() const { return chatml_default_; }
  const std::string& name() const { return template_.name(); }

 private:
  ChatTemplate(jinja::Template t, std::string bos, std::string eos)
      : template_(std::move(t)), bos_(std::move(bos)), eos_(std::move(eos)) {}
  void find_stop_strings();

  jinja::Template template_;
  std::string bos_;
  std::string eos_;
  std::vector<std::string> stop_strings_;
  bool chatml_default_ = false;
};

// Where the first of `stops` occurs in `text` (npos if none), and the length of the longest
// suffix of `text` that could still grow into one (to hold back while streaming).
struct StopMatch {
  size_t position = std::string::npos;
  size_t partial = 0;
};
StopMatch find_stop(std::string_view text, const std::vector<std::string>& stops);

}  // namespace sherry::runtime
