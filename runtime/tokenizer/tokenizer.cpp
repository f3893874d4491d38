#include "runtime/tokenizer/tokenizer.h"

#include <algorithm>
#include <optional>
#include <queue>
#include <utility>

#include "runtime/tokenizer/unicode.h"

namespace sherry::runtime {
namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581 ▁, SentencePiece's space

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to 256, 257, ...
struct ByteMap {
  std::array<uint32_t, 256> to_code_point{};
  std::array<int16_t, 512> to_byte{};  // every image is below 256 + 256
  ByteMap() {
    to_byte.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      to_code_point[b] = printable ? b : next++;
      to_byte[to_code_point[b]] = static_cast<int16_t>(b);
    }
  }
};
const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0xAB>" → 0xAB, -1 otherwise.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  const int hi = hex_digit(text[3]);
  const int lo = hex_digit(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// A symbol of the merge loops: a byte range of the text in a doubly linked list.
struct Symbol {
  int prev;
  int next;
  uint32_t offset;
  uint32_t length;  // 0 once merged into its left neighbour
};

std::vector<Symbol> split_code_points(std::string_view text) {
  std::vector<Symbol> symbols;
  for (size_t offset = 0; offset < text.size();) {
    const size_t length = utf8_sequence_length(text, offset);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back(
        {index - 1, index + 1, static_cast<uint32_t>(offset), static_cast<uint32_t>(length)});
    offset += length;
  }
  if (!symbols.empty()) symbols.back().next = -1;
  return symbols;
}

// A candidate merge of two neighbours. Best = highest priority, then leftmost.
struct Candidate {
  float priority;  // SPM: token score; BPE: -rank
  int left;
  int right;
  uint32_t length;  // bytes of the merged text, to detect stale candidates
  bool operator<(const Candidate& o) const {
    return priority < o.priority || (priority == o.priority && left > o.left);
  }
};

// The merge loop of both tokenizers: repeatedly merges the best candidate pair of neighbours into
// the left one until no pair merges. `priority_of(left, right)` is the priority of merging two
// neighbouring symbols, nullopt when they do not merge. A candidate is stale once either side has
// changed (merged away, grown, or no longer neighbours).
template <class PriorityOf>
void merge_symbols(std::vector<Symbol>& symbols, PriorityOf priority_of) {
  std::priority_queue<Candidate> queue;
  auto try_pair = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    const std::optional<float> priority = priority_of(l, r);
    if (!priority) return;
    queue.push({*priority, left, right, l.length + r.length});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_pair(i - 1, i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& l = symbols[c.left];
    Symbol& r = symbols[c.right];
    if (l.length == 0 || r.length == 0 || l.length + r.length != c.length || l.next != c.right) {
      continue;  // stale
    }
    l.length += r.length;
    r.length = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = c.left;
    try_pair(l.prev, c.left);
    try_pair(c.left, l.next);
  }
}

}  // namespace

uint32_t byte_to_bpe_code_point(uint8_t byte) {
  return byte_map().to_code_point[byte];
}

int bpe_code_point_to_byte(uint32_t code_point) {
  return code_point < byte_map().to_byte.size() ? byte_map().to_byte[code_point] : -1;
}

Result<Tokenizer> Tokenizer::create(Vocab vocab, std::string_view source) {
  const int64_t n = vocab.size();
  if (static_cast<int64_t>(vocab.types.size()) != n ||
      (!vocab.scores.empty() && static_cast<int64_t>(vocab.scores.size()) != n)) {
    return make_error(
        "{}: tokenizer: expected one type and one score per token ({}), found {} "
        "types and {} scores",
        source, n, vocab.types.size(), vocab.scores.size());
  }
  Tokenizer tokenizer(std::move(vocab));
  tokenizer.index();
  const Vocab& v = tokenizer.vocab_;
  if (v.kind == TokenizerKind::kBytePairEncoding) {
    for (int b = 0; b < 256; ++b) {
      if (tokenizer.byte_tokens_[b] == kNoToken) {
        return make_error(
            "{}: tokenizer: a byte-level BPE vocabulary needs a token for every "
            "byte, found none for byte 0x{:02X}",
            source, b);
      }
    }
  }
  if (v.kind == TokenizerKind::kSentencePiece && v.unknown == kNoToken) {
    for (int b = 0; b < 256; ++b) {
      if (tokenizer.byte_tokens_[b] == kNoToken) {
        return make_error(
            "{}: tokenizer: a SentencePiece vocabulary needs byte fallback tokens "
            "or an unknown token, found neither (no token for byte 0x{:02X})",
            source, b);
      }
    }
  }
  return tokenizer;
}

void Tokenizer::index() {
  const int64_t n = vocab_.size();
  ids_.reserve(n);
  byte_tokens_.fill(kNoToken);
  for (int32_t id = 0; id < n; ++id) {
    const std::string& text = vocab_.tokens[id];
    ids_.emplace(text, id);  // the first of duplicate texts wins
    const TokenType type = vocab_.types[id];
    if (type == TokenType::kControl || type == TokenType::kUserDefined ||
        type == TokenType::kUnknown) {
      if (!text.empty()) specials_.push_back(id);
    }
  }
  std::stable_sort(specials_.begin(), specials_.end(), [&](int32_t a, int32_t b) {
    return vocab_.tokens[a].size() > vocab_.tokens[b].size();
  });
  if (vocab_.kind == TokenizerKind::kSentencePiece) {
    for (int32_t id = 0; id < n; ++id) {
      if (vocab_.types[id] != TokenType::kByte) continue;
      const int byte = parse_byte_token(vocab_.tokens[id]);
      if (byte >= 0 && byte_tokens_[byte] == kNoToken) byte_tokens_[byte] = id;
    }
  } else {
    for (int b = 0; b < 256; ++b) {
      std::string text;
      append_utf8(text, byte_to_bpe_code_point(static_cast<uint8_t>(b)));
      byte_tokens_[b] = find(text);
    }
    merge_ranks_.reserve(vocab_.merges.size());
    for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
      merge_ranks_.emplace(vocab_.merges[rank], static_cast<int32_t>(rank));
    }
  }
}

int32_t Tokenizer::find(std::string_view text) const {
  const auto it = ids_.find(text);
  return it == ids_.end() ? kNoToken : it->second;
}

bool Tokenizer::is_end_of_generation(int32_t id) const {
  if (id == vocab_.eos || id == vocab_.eot) return true;
  // Chat models end turns with control tokens such as <|eot_id|> or <|im_end|>.
  if (id >= 0 && id < size() && vocab_.types[id] == TokenType::kControl) {
    const std::string& t = vocab_.tokens[id];
    return t == "<|eot_id|>" || t == "<|im_end|>" || t == "<|end|>" || t == "<|endoftext|>" ||
           t == "<|end_of_text|>";
  }
  return false;
}

std::vector<std::pair<int32_t, std::string_view>> Tokenizer::split_special(
    std::string_view text, bool parse_special) const {
  std::vector<std::pair<int32_t, std::string_view>> fragments{{kNoToken, text}};
  for (int32_t id : specials_) {
    const TokenType type = vocab_.types[id];
    if (!parse_special && type != TokenType::kUserDefined) continue;
    const std::string& special = vocab_.tokens[id];
    std::vector<std::pair<int32_t, std::string_view>> next;
    for (const auto& [token, raw] : fragments) {
      if (token != kNoToken) {
        next.emplace_back(token, raw);
        continue;
      }
      size_t start = 0;
      for (size_t hit = raw.find(special); hit != std::string_view::npos;
           hit = raw.find(special, start)) {
        if (hit > start) next.emplace_back(kNoToken, raw.substr(start, hit - start));
        next.emplace_back(id, std::string_view{});
        start = hit + special.size();
      }
      if (start < raw.size()) next.emplace_back(kNoToken, raw.substr(start));
    }
    fragments = std::move(next);
  }
  return fragments;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special && vocab_.add_bos) out.push_back(vocab_.bos);
  if (!text.empty()) {
    bool after_special = true;  // SentencePiece prefixes a space at the start and after specials
    for (const auto& [token, raw] : split_special(text, parse_special)) {
      if (token != kNoToken) {
        out.push_back(token);
        after_special = true;
        continue;
      }
      if (vocab_.kind == TokenizerKind::kSentencePiece) {
        std::string escaped;
        if (vocab_.add_space_prefix && after_special) escaped = kSpmSpace;
        for (char c : raw) {
          if (c == ' ')
            escaped += kSpmSpace;
          else
            escaped += c;
        }
        encode_sentencepiece(escaped, out);
      } else {
        for (std::string_view piece : pre_tokenize(raw, vocab_.pre)) encode_bpe_piece(piece, out);
      }
      after_special = false;
    }
  }
  if (add_special && vocab_.add_eos) out.push_back(vocab_.eos);
  return out;
}

void Tokenizer::encode_sentencepiece(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<Symbol> symbols = split_code_points(text);
  merge_symbols(symbols, [&](const Symbol& l, const Symbol& r) -> std::optional<float> {
    const int32_t id = find(text.substr(l.offset, l.length + r.length));
    if (id == kNoToken) return std::nullopt;
    return vocab_.scores[id];
  });
  for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    const std::string_view piece = text.substr(s.offset, s.length);
    const int32_t id = find(piece);
    if (id != kNoToken) {
      out.push_back(id);
      continue;
    }
    // Merged symbols are always tokens: only a single code point can miss. Byte fallback.
    for (char c : piece) {
      const int32_t byte_id = byte_tokens_[static_cast<uint8_t>(c)];
      out.push_back(byte_id != kNoToken ? byte_id : vocab_.unknown);
    }
  }
}

void Tokenizer::encode_bpe_piece(std::string_view piece, std::vector<int32_t>& out) const {
  std::string word;
  for (char c : piece) append_utf8(word, byte_to_bpe_code_point(static_cast<uint8_t>(c)));
  if (vocab_.ignore_merges) {
    if (const int32_t id = find(word); id != kNoToken) {
      out.push_back(id);
      return;
    }
  }
  std::vector<Symbol> symbols = split_code_points(word);
  std::string key;
  merge_symbols(symbols, [&](const Symbol& l, const Symbol& r) -> std::optional<float> {
    key.assign(word, l.offset, l.length);
    key += ' ';
    key.append(word, r.offset, r.length);
    const auto it = merge_ranks_.find(key);
    if (it == merge_ranks_.end()) return std::nullopt;
    return -static_cast<float>(it->second);
  });
  for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    const std::string_view text = std::string_view(word).substr(s.offset, s.length);
    const int32_t id = find(text);
    if (id != kNoToken) {
      out.push_back(id);
      continue;
    }
    // Not a token: one token per byte of the original text.
    for (const CodePoint& cp : decode_utf8(text)) {
      const int byte = bpe_code_point_to_byte(cp.value);
      out.push_back(byte >= 0 ? byte_tokens_[byte] : vocab_.unknown);
    }
  }
}

std::string Tokenizer::token_to_piece(int32_t id, bool unparse_special) const {
  if (id < 0 || id >= size()) return {};
  const std::string& text = vocab_.tokens[id];
  switch (vocab_.types[id]) {
    case TokenType::kControl:
    case TokenType::kUnused:
      return unparse_special ? text : std::string();
    case TokenType::kUserDefined:
      return text;
    case TokenType::kByte:
      if (vocab_.kind == TokenizerKind::kSentencePiece) {
        const int byte = parse_byte_token(text);
        if (byte >= 0) return std::string(1, static_cast<char>(byte));
      }
      break;
    default:
      break;
  }
  std::string out;
  if (vocab_.kind == TokenizerKind::kSentencePiece) {
    for (size_t i = 0; i < text.size();) {
      if (text.compare(i, kSpmSpace.size(), kSpmSpace) == 0) {
        out += ' ';
        i += kSpmSpace.size();
      } else {
        out += text[i++];
      }
    }
    return out;
  }
  for (const CodePoint& cp : decode_utf8(text)) {
    const int byte = bpe_code_point_to_byte(cp.value);
    if (byte >= 0)
      out += static_cast<char>(byte);
    else
      out.append(text, cp.offset, cp.length);
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool unparse_special) const {
  Detokenizer detokenizer(*this, true, unparse_special);
  std::string out;
  for (int32_t id : ids) out += detokenizer.push(id);
  return out + detokenizer.finish();
}

Detokenizer::Detokenizer(const Tokenizer& tokenizer, bool at_start, bool unparse_special)
    : tokenizer_(&tokenizer),
      strip_space_(at_start && tokenizer.vocab().kind == TokenizerKind::kSentencePiece &&
                   tokenizer.vocab().add_space_prefix),
      unparse_special_(unparse_special) {}

std::string Detokenizer::push(int32_t id) {
  std::string piece = tokenizer_->token_to_piece(id, unparse_special_);
  if (strip_space_ && !piece.empty()) {
    if (piece[0] == ' ') piece.erase(0, 1);
    strip_space_ = false;
  }
  pending_ += piece;
  const size_t keep = utf8_incomplete_tail(pending_);
  std::string text = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return text;
}

std::string Detokenizer::finish() {
  return std::exchange(pending_, std::string());
}

}  // namespace sherry::runtime
