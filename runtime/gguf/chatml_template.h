// ChatML (llama.cpp's "chatml"), the chat template of sherry's own models: the trainer's export
// writes it as tokenizer.chat_template, and the runtime uses it for a file without one.
#pragma once

#include <string_view>

namespace sherry::gguf {

inline constexpr std::string_view kChatMlTemplate =
    "{%- for message in messages -%}\n"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "{{- '<|im_start|>assistant\\n' -}}\n"
    "{%- endif -%}\n";

}  // namespace sherry::gguf
