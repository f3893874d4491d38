#include "tools/sherry-convert/hf_tokenizer.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "tools/sherry-convert/hf_config.h"
#include "tools/sherry-convert/strict_json.h"

namespace sherry::hf {
namespace {

using nlohmann::json;
namespace names = gguf::names;
using TokenType = names::TokenType;

// The Split regexes of the byte-level pre-tokenizers sherry runs, as tokenizer.json spells them.
constexpr std::string_view kLlama3Regex =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr std::string_view kQwen2Regex =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // ▁

int32_t type_id(TokenType type) {
  return static_cast<int32_t>(type);
}

// The flat list of a pre-tokenizer (a Sequence's members, or itself).
std::vector<const json*> pre_tokenizer_steps(const json& root) {
  std::vector<const json*> steps;
  const auto it = root.find("pre_tokenizer");
  if (it == root.end() || it->is_null()) return steps;
  if (it->is_object() && it->value("type", "") == "Sequence" && it->contains("pretokenizers") &&
      (*it)["pretokenizers"].is_array()) {
    for (const json& step : (*it)["pretokenizers"]) steps.push_back(&step);
  } else {
    steps.push_back(&*it);
  }
  return steps;
}

std::string type_of(const json* step) {
  return step->is_object() ? step->value("type", "") : "";
}

// llama.cpp's does_token_look_special: added tokens that ought to be control tokens even when the
// file does not mark them special.
bool looks_special(std::string_view text) {
  if (text == "<pad>" || text == "<mask>" || text == "<2mass>" || text == "[@BOS@]") return true;
  if (text.starts_with("<|") && text.ends_with("|>")) return true;
  if (text.starts_with("<\xEF\xBD\x9C") && text.ends_with("\xEF\xBD\x9C>")) return true;  // <｜ ｜>
  return text.starts_with("<unused") && text.ends_with(">");
}

bool is_byte_token(std::string_view text) {
  auto hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
  };
  return text.size() == 6 && text.starts_with("<0x") && text[5] == '>' && hex(text[3]) &&
         hex(text[4]);
}

struct AddedToken {
  int64_t id;
  std::string content;
  bool special;
};

// What both kinds share: the model's vocab, the added tokens, the merges as "left right".
struct Parsed {
  std::vector<std::pair<std::string, int64_t>> vocab;
  std::vector<AddedToken> added;
  std::vector<std::string> merges;
};

Result<Parsed> parse_common(const json& root, const std::string& file, int64_t vocab_size) {
  Parsed p;
  const json& model = root["model"];
  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    return make_error("{}: key 'model.vocab': expected an object of token → id, found {}", file,
                      model.contains("vocab") ? model["vocab"].type_name() : "no such key");
  }
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab_size) {
      return make_error(
          "{}: key 'model.vocab': token \"{}\": expected an id in [0, {}) (the model's "
          "vocab_size), found {}",
          file, token, vocab_size, id.dump());
    }
    p.vocab.emplace_back(token, id.get<int64_t>());
  }
  if (root.contains("added_tokens") && !root["added_tokens"].is_null()) {
    if (!root["added_tokens"].is_array()) {
      return make_error("{}: key 'added_tokens': expected an array, found {}", file,
                        root["added_tokens"].type_name());
    }
    for (const json& entry : root["added_tokens"]) {
      if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_number_integer() ||
          !entry.contains("content") || !entry["content"].is_string()) {
        return make_error(
            "{}: key 'added_tokens': expected objects with an id and a content, "
            "found {}",
            file, entry.dump().substr(0, 80));
      }
      const auto id = entry["id"].get<int64_t>();
      if (id < 0 || id >= vocab_size) {
        return make_error(
            "{}: key 'added_tokens': token \"{}\": expected an id in [0, {}) (the model's "
            "vocab_size), found {}",
            file, entry["content"].get<std::string>(), vocab_size, id);
      }
      const json* special = entry.contains("special") ? &entry["special"] : nullptr;
      p.added.push_back({id, entry["content"].get<std::string>(),
                         special != nullptr && special->is_boolean() && special->get<bool>()});
    }
  }
  if (model.contains("merges") && !model["merges"].is_null()) {
    const json& merges = model["merges"];
    if (!merges.is_array()) {
      return make_error("{}: key 'model.merges': expected an array, found {}", file,
                        merges.type_name());
    }
    p.merges.reserve(merges.size());
    for (const json& merge : merges) {
      // "left right" (tokenizers before 0.20) or ["left", "right"].
      if (merge.is_string() &&
          merge.get_ref<const std::string&>().find(' ', 1) != std::string::npos) {
        p.merges.push_back(merge.get<std::string>());
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
                 merge[1].is_string() &&
                 merge[0].get_ref<const std::string&>().find(' ') == std::string::npos &&
                 merge[1].get_ref<const std::string&>().find(' ') == std::string::npos) {
        p.merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
      } else {
        return make_error(
            "{}: key 'model.merges': expected \"left right\" strings or [\"left\", \"right\"] "
            "pairs without spaces, found {}",
            file, merge.dump().substr(0, 80));
      }
    }
  }
  return p;
}

// Tokens and types in id order, padded with "[PAD<id>]" (unused) where no token has the id.
// Added tokens override the model's entry of the same id. Errors: an id given to two tokens.
Result<std::pair<std::vector<std::string>, std::vector<int32_t>>> lay_out(const Parsed& p,
                                                                          int64_t vocab_size,
                                                                          const std::string& file,
                                                                          bool byte_tokens) {
  std::vector<std::string> tokens(static_cast<size_t>(vocab_size));
  std::vector<int32_t> types(static_cast<size_t>(vocab_size), -1);
  for (const auto& [token, id] : p.vocab) {
    if (types[id] != -1) {
      return make_error(
          "{}: key 'model.vocab': expected one token per id, found \"{}\" and \"{}\" "
          "at id {}",
          file, tokens[id], token, id);
    }
    tokens[id] = token;
    types[id] =
        type_id(byte_tokens && is_byte_token(token) ? TokenType::kByte : TokenType::kNormal);
  }
  for (const AddedToken& a : p.added) {
    tokens[a.id] = a.content;
    if (a.special || looks_special(a.content)) {
      types[a.id] = type_id(TokenType::kControl);
    } else {
      // llama.cpp's converter: user-defined tokens hold their spaces as spaces.
      std::string text = a.content;
      for (size_t at = text.find(kSpmSpace); at != std::string::npos; at = text.find(kSpmSpace)) {
        text.replace(at, kSpmSpace.size(), " ");
      }
      tokens[a.id] = text;
      types[a.id] = type_id(TokenType::kUserDefined);
    }
  }
  for (int64_t id = 0; id < vocab_size; ++id) {
    if (types[id] == -1) {
      tokens[id] = fmt::format("[PAD{}]", id);
      types[id] = type_id(TokenType::kUnused);
    }
  }
  return std::make_pair(std::move(tokens), std::move(types));
}

// The byte-level pre-tokenizer's name from its steps, or an error naming what it found.
Result<std::string> byte_level_pre(const std::vector<const json*>& steps, const std::string& file,
                                   const std::string& pre_override) {
  std::vector<std::string> regexes;
  bool byte_level_regex = false;
  for (const json* step : steps) {
    const std::string type = type_of(step);
    if (type == "Split") {
      const json& pattern = step->value("pattern", json::object());
      regexes.push_back(pattern.is_object() && pattern.contains("Regex") &&
                                pattern["Regex"].is_string()
                            ? pattern["Regex"].get<std::string>()
                            : pattern.dump());
    } else if (type == "ByteLevel") {
      byte_level_regex = step->value("use_regex", true);
    } else {
      regexes.push_back(type);
    }
  }
  if (!pre_override.empty()) return pre_override;
  if (regexes.size() == 1 && regexes[0] == kLlama3Regex && !byte_level_regex) {
    return std::string("llama-bpe");
  }
  if (regexes.size() == 1 && regexes[0] == kQwen2Regex && !byte_level_regex) {
    return std::string("qwen2");
  }
  if (regexes.empty() && byte_level_regex) return std::string("gpt-2");
  std::string found = byte_level_regex ? "ByteLevel's GPT-2 regex" : "";
  for (const std::string& r : regexes) found += (found.empty() ? "" : ", then ") + r;
  return make_error(
      "{}: key 'pre_tokenizer': expected the pre-tokenizer of Llama 3 (llama-bpe), Qwen2 (qwen2) "
      "or GPT-2 (gpt-2), found {} (--pre-tokenizer names one if it splits text the same way)",
      file, found.empty() ? std::string("none") : found);
}

// The normalizer of a byte-level tokenizer: none, or NFC (Qwen2's, which llama.cpp ignores).
Status check_byte_level_normalizer(const json& root, const std::string& file) {
  const auto it = root.find("normalizer");
  if (it == root.end() || it->is_null()) return {};
  if (it->is_object() && it->value("type", "") == "NFC") return {};
  return make_error(
      "{}: key 'normalizer': expected none or NFC for a byte-level tokenizer, found {}", file,
      it->dump().substr(0, 80));
}

// SentencePiece-style: does a space get prepended to the text (Llama 2's "▁" prefix)?
bool spm_space_prefix(const json& root, const std::vector<const json*>& steps) {
  const auto normalizer = root.find("normalizer");
  if (normalizer != root.end() && normalizer->is_object()) {
    std::vector<const json*> parts;
    if (normalizer->value("type", "") == "Sequence" && normalizer->contains("normalizers")) {
      for (const json& n : (*normalizer)["normalizers"]) parts.push_back(&n);
    } else {
      parts.push_back(&*normalizer);
    }
    for (const json* n : parts) {
      if (type_of(n) == "Prepend" && n->value("prepend", "") == kSpmSpace) return true;
    }
  }
  for (const json* step : steps) {
    if (type_of(step) == "Metaspace") {
      if (step->contains("prepend_scheme") && (*step)["prepend_scheme"].is_string()) {
        return (*step)["prepend_scheme"].get<std::string>() != "never";
      }
      return step->value("add_prefix_space", true);
    }
  }
  return false;
}

// Scores for the SentencePiece tokenizer from BPE merges: a token made by merge r (the first that
// makes it) scores -(r + 1), so the score-driven merge loop merges in the merges' order; tokens no
// merge makes (characters, bytes, specials) score 0.
std::vector<float> merge_scores(const std::vector<std::string>& tokens,
                                const std::vector<std::string>& merges) {
  std::unordered_map<std::string_view, size_t> id_of;
  for (size_t i = 0; i < tokens.size(); ++i) id_of.emplace(tokens[i], i);
  std::vector<float> scores(tokens.size(), 0.0f);
  std::vector<bool> seen(tokens.size(), false);
  std::string joined;
  for (size_t r = 0; r < merges.size(); ++r) {
    const std::string& m = merges[r];
    const size_t space = m.find(' ', 1);
    joined = m.substr(0, space) + m.substr(space + 1);
    const auto it = id_of.find(joined);
    if (it == id_of.end() || seen[it->second]) continue;
    seen[it->second] = true;
    scores[it->second] = -static_cast<float>(r + 1);
  }
  return scores;
}

// The id of an added token (or a vocabulary token) with this text.
std::optional<int64_t> find_token(const std::vector<std::string>& tokens, std::string_view text) {
  const auto it = std::find(tokens.begin(), tokens.end(), text);
  if (it == tokens.end()) return std::nullopt;
  return it - tokens.begin();
}

// tokenizer_config.json's "<kind>_token": a string, an object with "content", or absent.
std::optional<std::string> special_content(const json& config, const std::string& kind) {
  const auto it = config.find(kind + "_token");
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return std::nullopt;
}

// BOS/EOS/UNK/PAD ids, add_bos/add_eos and the chat template from tokenizer_config.json, the
// post-processor, and config.json's ids (as gguf-py's SpecialVocab reads them).
Status read_specials(const json& root, const TokenizerFiles& files, const HfConfig& config,
                     HfVocab& v) {
  json tc = json::object();
  if (!files.config_json.empty()) {
    auto parsed = parse_strict_json(files.config_json, files.config_path);
    if (!parsed) return parsed.error();
    if (!parsed->is_object()) {
      return make_error("{}: expected a JSON object, found {}", files.config_path,
                        parsed->type_name());
    }
    tc = std::move(*parsed);
  }
  const std::pair<const char*, std::optional<int64_t>*> kinds[] = {
      {"bos", &v.bos}, {"eos", &v.eos}, {"unk", &v.unknown}, {"pad", &v.padding}};
  for (const auto& [kind, id] : kinds) {
    const std::optional<std::string> content = special_content(tc, kind);
    if (!content) continue;
    *id = find_token(v.tokens, *content);
    if (!*id) {
      return make_error("{}: key '{}_token': expected a token of the vocabulary, found \"{}\"",
                        files.config_path, kind, *content);
    }
  }
  if (!v.bos && !config.bos_ids.empty()) v.bos = config.bos_ids.front();
  if (!v.eos && !config.eos_ids.empty()) v.eos = config.eos_ids.front();
  for (const auto& [kind, id] : kinds) {
    if (*id && **id >= static_cast<int64_t>(v.tokens.size())) {
      return make_error("config.json: key '{}_token_id': expected an id below {}, found {}", kind,
                        v.tokens.size(), **id);
    }
  }

  // A TemplateProcessing post-processor adding BOS (or EOS) around a single sequence.
  const auto post = root.find("post_processor");
  if (post != root.end() && post->is_object()) {
    std::vector<const json*> processors;
    if (post->contains("processors") && (*post)["processors"].is_array()) {
      for (const json& p : (*post)["processors"]) processors.push_back(&p);
    } else {
      processors.push_back(&*post);
    }
    for (const json* p : processors) {
      if (type_of(p) != "TemplateProcessing" || !p->contains("single") ||
          !(*p)["single"].is_array() || (*p)["single"].size() < 2) {
        continue;
      }
      auto special_id = [&](const json& piece) -> std::optional<int64_t> {
        if (!piece.is_object() || !piece.contains("SpecialToken")) return std::nullopt;
        const json& s = piece["SpecialToken"];
        if (!s.is_object() || !s.contains("id") || !s["id"].is_string()) return std::nullopt;
        return find_token(v.tokens, s["id"].get<std::string>());
      };
      const json& single = (*p)["single"];
      const auto first = special_id(single.front());
      const auto last = special_id(single.back());
      if (first && v.bos == first) v.add_bos = true;
      if (last && v.eos == last) v.add_eos = true;
    }
  }
  for (const auto& [key, flag] :
       {std::pair("add_bos_token", &v.add_bos), std::pair("add_eos_token", &v.add_eos)}) {
    const auto it = tc.find(key);
    if (it != tc.end() && it->is_boolean()) *flag = it->get<bool>();
  }
  if (v.model == "llama") {
    const auto it = tc.find("add_prefix_space");
    if (it != tc.end() && it->is_boolean()) v.add_space_prefix = it->get<bool>();
  }

  const auto templ = tc.find("chat_template");
  if (templ != tc.end() && templ->is_string()) {
    v.chat_template = templ->get<std::string>();
  } else if (templ != tc.end() && templ->is_array()) {
    // [{"name": ..., "template": ...}]: the "default" one, else the first.
    for (const json& entry : *templ) {
      if (!entry.is_object() || !entry.contains("template") || !entry["template"].is_string()) {
        continue;
      }
      if (v.chat_template.empty() || entry.value("name", "") == "default") {
        v.chat_template = entry["template"].get<std::string>();
      }
    }
  } else if (templ != tc.end() && !templ->is_null()) {
    return make_error("{}: key 'chat_template': expected a string or a list of templates, found {}",
                      files.config_path, templ->type_name());
  } else {
    v.chat_template = files.chat_template;
  }
  return {};
}

}  // namespace

namespace {

Result<HfVocab> convert(const TokenizerFiles& files, int64_t vocab_size, const HfConfig& config,
                        const std::string& pre_override) {
  const std::string& file = files.tokenizer_path;
  auto parsed = parse_strict_json(files.tokenizer_json, file);
  if (!parsed) return parsed.error();
  const json& root = *parsed;
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object()) {
    return make_error("{}: expected an object with a \"model\" object, found {}", file,
                      root.is_object() ? std::string("no such object") : root.type_name());
  }
  const json& model = root["model"];
  const std::string model_type = model.value("type", "");
  const std::vector<const json*> steps = pre_tokenizer_steps(root);
  const bool byte_level = std::any_of(steps.begin(), steps.end(),
                                      [](const json* s) { return type_of(s) == "ByteLevel"; });
  const json* fallback = model.contains("byte_fallback") ? &model["byte_fallback"] : nullptr;
  const bool byte_fallback = fallback != nullptr && fallback->is_boolean() && fallback->get<bool>();
  if (model_type != "BPE" || (!byte_level && !byte_fallback)) {
    return make_error(
        "{}: key 'model': expected a byte-level BPE (a ByteLevel pre-tokenizer) or a "
        "SentencePiece-style BPE (byte_fallback), found type \"{}\"{}",
        file, model_type, model_type == "BPE" ? " without either" : "");
  }
  auto p = parse_common(root, file, vocab_size);
  if (!p) return p.error();
  auto laid = lay_out(*p, vocab_size, file, /*byte_tokens=*/!byte_level);
  if (!laid) return laid.error();

  HfVocab v;
  v.tokens = std::move(laid->first);
  v.types = std::move(laid->second);
  if (byte_level) {
    v.model = "gpt2";
    SHERRY_TRY(check_byte_level_normalizer(root, file));
    auto pre = byte_level_pre(steps, file, pre_override);
    if (!pre) return pre.error();
    v.pre = std::move(*pre);
    v.merges = std::move(p->merges);
  } else {
    v.model = "llama";
    v.scores = merge_scores(v.tokens, p->merges);
    v.add_space_prefix = spm_space_prefix(root, steps);
    if (model.contains("unk_token") && model["unk_token"].is_string()) {
      v.unknown = find_token(v.tokens, model["unk_token"].get<std::string>());
      if (v.unknown) v.types[*v.unknown] = type_id(TokenType::kUnknown);
    }
  }
  SHERRY_TRY(read_specials(root, files, config, v));
  return v;
}

}  // namespace

Result<HfVocab> convert_hf_tokenizer(const TokenizerFiles& files, int64_t vocab_size,
                                     const HfConfig& config, const std::string& pre_override) {
  try {
    return convert(files, vocab_size, config, pre_override);
  } catch (const nlohmann::json::exception& e) {  // a member of an unexpected JSON type
    return make_error("{}: expected tokenizer.json's structure, found: {}", files.tokenizer_path,
                      e.what());
  }
}

void add_hf_vocab(gguf::Writer& writer, const HfVocab& v) {
  writer.set_string(std::string(names::kTokenizerModel), v.model);
  if (!v.pre.empty()) writer.set_string(std::string(names::kTokenizerPre), v.pre);
  writer.set_string_array(std::string(names::kTokenizerTokens), v.tokens);
  if (!v.scores.empty()) writer.set_float32_array(std::string(names::kTokenizerScores), v.scores);
  writer.set_int32_array(std::string(names::kTokenizerTokenType), v.types);
  if (v.model == "gpt2") writer.set_string_array(std::string(names::kTokenizerMerges), v.merges);
  const std::pair<std::string_view, const std::optional<int64_t>*> ids[] = {
      {names::kTokenizerBosId, &v.bos},
      {names::kTokenizerEosId, &v.eos},
      {names::kTokenizerUnknownId, &v.unknown},
      {names::kTokenizerPaddingId, &v.padding}};
  for (const auto& [key, id] : ids) {
    if (*id) writer.set_uint32(std::string(key), static_cast<uint32_t>(**id));
  }
  if (v.add_bos) writer.set_bool(std::string(names::kTokenizerAddBos), *v.add_bos);
  if (v.add_eos) writer.set_bool(std::string(names::kTokenizerAddEos), *v.add_eos);
  if (v.add_space_prefix) {
    writer.set_bool(std::string(names::kTokenizerAddSpacePrefix), *v.add_space_prefix);
  }
  if (!v.chat_template.empty()) {
    writer.set_string(std::string(names::kTokenizerChatTemplate), v.chat_template);
  }
}

}  // namespace sherry::hf
