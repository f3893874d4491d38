// sherry-run -cnv: an interactive chat in the terminal. Each line read is a user turn; the whole
// conversation goes through the model's chat template (its tokenizer.chat_template, or ChatML:
// the same as sherry-server's), only what the KV cache does not hold yet is run, and the reply
// streams to `out` until end of text, the template's end of turn or -n tokens. "/exit" or the
// end of the input ends it.
#pragma once

#include <cstdio>
#include <istream>
#include <string>

#include "runtime/llama_model.h"
#include "runtime/sampler.h"

namespace sherry::runtime {

struct ConversationOptions {
  std::string system_prompt;      // -sys ("" : none)
  int64_t max_reply_tokens = -1;  // -n (-1: until the context is full)
  SamplerOptions sampling;        // seed included
  bool ignore_eos = false;
  bool verbose_prompt = false;  // print each rendered prompt to stderr
};

// Returns the exit status: 0 at /exit or the end of the input, 1 on an error (printed to stderr:
// a template error, a conversation longer than the context).
int run_conversation(LlamaModel& model, const ConversationOptions& options, std::istream& in,
                     std::FILE* out);

}  // namespace sherry::runtime
