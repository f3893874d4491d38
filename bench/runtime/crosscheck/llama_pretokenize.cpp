// llama.cpp's own pre-tokenizer (unicode_regex_split, src/unicode.h) on the regexes its
// llama-vocab.cpp gives each pre-tokenizer type, in the format of sherry_tokenize's "pretokenize"
// (built by tokenizer_crosscheck.sh against scripts/fetch_llama_cpp.sh's llama.cpp, which also
// checks that every regex below still appears verbatim in that llama-vocab.cpp).
//   llama_pretokenize hunyuan-dense|llama-bpe|qwen2|gpt-2 TEXTS
// One line per text: each piece's bytes in hex, pieces separated by spaces.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "testing/vocab_test_texts.h"
#include "unicode.h"

// llama-vocab.cpp (llama.cpp de3ff81), llm_tokenizer_bpe: LLAMA_VOCAB_PRE_TYPE_HUNYUAN_DENSE
// (with DEEPSEEK3_LLM), LLAMA3, QWEN2, GPT2.
const std::map<std::string, std::vector<std::string>> kRegexes = {
    {"hunyuan-dense",
     {
         "\\p{N}{1,3}",
         "[一-龥぀-ゟ゠-ヿ]+",
         "[!\"#$%&'()*+,\\-./"
         ":;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
         "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
     }},
    {"llama-bpe",
     {
         "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
         "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     }},
    {"qwen2",
     {
         "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
         "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     }},
    {"gpt-2",
     {
         "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
     }},
};

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--regexes") {
    // Each regex as the C string literal llama-vocab.cpp spells it, for the script's source check.
    for (const auto& [name, regexes] : kRegexes) {
      for (const std::string& r : regexes) {
        std::string literal = "\"";
        for (char c : r) {
          literal += c == '\\'   ? "\\\\"
                     : c == '"'  ? "\\\""
                     : c == '\r' ? "\\r"
                     : c == '\n' ? "\\n"
                                 : std::string(1, c);
        }
        std::printf("%s\"\n", literal.c_str());
      }
    }
    return 0;
  }
  if (argc != 3 || kRegexes.count(argv[1]) == 0) {
    std::fprintf(stderr, "usage: llama_pretokenize hunyuan-dense|llama-bpe|qwen2|gpt-2 TEXTS\n");
    return 2;
  }
  for (const std::string& text : sherry::testing::read_vocab_test_texts(argv[2])) {
    const auto pieces = unicode_regex_split(text, kRegexes.at(argv[1]), /*byte_encode=*/false);
    for (size_t i = 0; i < pieces.size(); ++i) {
      std::printf(i ? " " : "");
      for (unsigned char c : pieces[i]) std::printf("%02x", c);
    }
    std::printf("\n");
  }
  return 0;
}
