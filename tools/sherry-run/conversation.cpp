#include "tools/sherry-run/conversation.h"

#include <algorithm>

#include <fmt/format.h>

#include "runtime/chat_template.h"

namespace sherry::runtime {
namespace {

void write(std::FILE* out, std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

}  // namespace

int run_conversation(LlamaModel& model, const ConversationOptions& options, std::istream& in,
                     std::FILE* out) {
  const Tokenizer& tokenizer = *model.tokenizer();
  auto chat = ChatTemplate::for_tokenizer(tokenizer, "model");
  if (!chat) {
    fmt::print(stderr, "error: {}\n", chat.error().message());
    return 1;
  }
  std::vector<ChatMessage> messages;
  if (!options.system_prompt.empty()) messages.push_back({"system", options.system_prompt});
  Sampler sampler(options.sampling, model.config().vocab);
  std::vector<int32_t> cached;  // the tokens the KV cache holds, positions 0..
  const std::string bos =
      tokenizer.bos() >= 0 ? tokenizer.vocab().tokens[static_cast<size_t>(tokenizer.bos())] : "";
  std::string line;
  while (true) {
    write(out, "> ");
    if (!std::getline(in, line) || line == "/exit") break;
    if (line.empty()) continue;
    messages.push_back({"user", line});
    auto prompt = chat->apply(messages, /*add_generation_prompt=*/true);
    if (!prompt) {
      fmt::print(stderr, "error: {}\n", prompt.error().message());
      return 1;
    }
    if (options.verbose_prompt) fmt::print(stderr, "prompt: {}\n", *prompt);
    const bool has_bos = !bos.empty() && prompt->rfind(bos, 0) == 0;
    std::vector<int32_t> tokens = tokenizer.encode(*prompt, !has_bos, /*parse_special=*/true);
    const auto n = static_cast<int64_t>(tokens.size());
    if (n >= model.context()) {
      fmt::print(stderr,
                 "error: the conversation has {} tokens, more than the context of {} (raise -c)\n",
                 n, model.context());
      return 1;
    }
    // Run only what the cache does not hold (the new turn), and the last token for its logits.
    size_t common = 0;
    while (common < cached.size() && common + 1 < tokens.size() && cached[common] == tokens[common])
      ++common;
    auto logits = model.forward(std::span<const int32_t>(tokens).subspan(common),
                                static_cast<int64_t>(common));
    if (!logits) {
      fmt::print(stderr, "error: {}\n", logits.error().message());
      return 1;
    }
    cached = tokens;
    const int64_t budget =
        std::min(options.max_reply_tokens < 0 ? model.context() : options.max_reply_tokens,
                 model.context() - n);
    Detokenizer detokenizer(tokenizer, /*at_start=*/true);
    std::string reply;
    std::string held;  // text that may be the start of the end-of-turn text
    for (int64_t generated = 0; generated < budget; ++generated) {
      const int32_t next = sampler.sample(*logits, cached);
      if (!options.ignore_eos && tokenizer.is_end_of_generation(next)) break;
      held += detokenizer.push(next);
      const StopMatch stop = find_stop(held, chat->stop_strings());
      if (stop.position != std::string::npos) {
        held.resize(stop.position);
        break;
      }
      const size_t safe = held.size() - stop.partial;
      write(out, std::string_view(held).substr(0, safe));
      reply += held.substr(0, safe);
      held.erase(0, safe);
      cached.push_back(next);
      if (static_cast<int64_t>(cached.size()) >= model.context()) break;
      logits = model.forward(std::span<const int32_t>(&cached.back(), 1),
                             static_cast<int64_t>(cached.size()) - 1);
      if (!logits) {
        fmt::print(stderr, "\nerror: {}\n", logits.error().message());
        return 1;
      }
    }
    held += detokenizer.finish();
    write(out, held);
    reply += held;
    write(out, "\n");
    messages.push_back({"assistant", reply});
  }
  write(out, "\n");
  return 0;
}

}  // namespace sherry::runtime
