#include "runtime/chat_template.h"

#include <cctype>
#include <ctime>

#include "runtime/tokenizer/tokenizer.h"

namespace sherry::runtime {
namespace {

std::tm local_now() {
  const std::time_t now = std::time(nullptr);
  std::tm t{};
  localtime_r(&now, &t);
  return t;
}

// The text of a special token, "" when the vocabulary has none.
std::string token_text(const Tokenizer& tokenizer, int32_t id) {
  if (id < 0 || id >= tokenizer.size()) return "";
  return tokenizer.vocab().tokens[static_cast<size_t>(id)];
}

}  // namespace

Result<ChatTemplate> ChatTemplate::create(std::string_view source, std::string name,
                                          std::string bos_token, std::string eos_token) {
  const bool chatml = source.empty();
  auto parsed = jinja::Template::parse(chatml ? gguf::kChatMlTemplate : source,
                                       chatml ? name + " (ChatML default)" : std::move(name));
  if (!parsed) return parsed.error();
  ChatTemplate t(std::move(*parsed), std::move(bos_token), std::move(eos_token));
  t.chatml_default_ = chatml;
  t.find_stop_strings();
  return t;
}

Result<ChatTemplate> ChatTemplate::for_tokenizer(const Tokenizer& tokenizer, std::string name) {
  return create(tokenizer.vocab().chat_template, std::move(name),
                token_text(tokenizer, tokenizer.bos()), token_text(tokenizer, tokenizer.eos()));
}

Result<std::string> ChatTemplate::apply_json(const nlohmann::ordered_json& messages,
                                             bool add_generation_prompt) const {
  jinja::Value variables = jinja::Value::dict();
  jinja::Dict& v = variables.as_dict();
  v.set(jinja::Value("messages"), jinja::Value::from_json(messages));
  v.set(jinja::Value("add_generation_prompt"), jinja::Value(add_generation_prompt));
  v.set(jinja::Value("bos_token"), jinja::Value(bos_));
  v.set(jinja::Value("eos_token"), jinja::Value(eos_));
  return template_.render(variables, local_now());
}

Result<std::string> ChatTemplate::apply(const std::vector<ChatMessage>& messages,
                                        bool add_generation_prompt) const {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) array.push_back({{"role", m.role}, {"content", m.content}});
  return apply_json(array, add_generation_prompt);
}

// Renders a user turn and an assistant turn holding a probe text: what the template prints
// right after the assistant's content ends a turn: one special token when it starts with '<' or
// '[' (<|im_end|>, <|eot_id|>, <end_of_turn>, </s>, [/INST]), else the text up to white space.
void ChatTemplate::find_stop_strings() {
  constexpr std::string_view kProbe = "sherry-turn-probe-7f3a";
  const std::vector<ChatMessage> probe = {{"user", "Hi"}, {"assistant", std::string(kProbe)}};
  auto text = apply(probe, false);
  if (!text) return;
  const size_t at = text->find(kProbe);
  if (at == std::string::npos) return;
  const std::string_view after = std::string_view(*text).substr(at + kProbe.size());
  size_t end = 0;
  if (!after.empty() && (after[0] == '<' || after[0] == '[')) {
    end = after.find(after[0] == '<' ? '>' : ']');
    end = end == std::string_view::npos ? 0 : end + 1;
  } else {
    while (end < after.size() && !std::isspace(static_cast<unsigned char>(after[end]))) ++end;
  }
  if (end > 0) stop_strings_.emplace_back(after.substr(0, end));
}

StopMatch find_stop(std::string_view text, const std::vector<std::string>& stops) {
  StopMatch m;
  for (const std::string& stop : stops) {
    if (stop.empty()) continue;
    const size_t at = text.find(stop);
    if (at != std::string_view::npos && at < m.position) m.position = at;
    // The longest suffix of text that is a proper prefix of stop.
    for (size_t n = std::min(stop.size() - 1, text.size()); n > m.partial; --n) {
      if (text.compare(text.size() - n, n, stop, 0, n) == 0) {
        m.partial = n;
        break;
      }
    }
  }
  return m;
}

}  // namespace sherry::runtime
