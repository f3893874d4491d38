#include "trainer/corpus/tokenizer.h"

#include <fcntl.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_map>

#include "trainer/corpus/file_io.h"

namespace sherry::corpus {
namespace {

class VectorSentenceIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorSentenceIterator(const std::vector<std::string>& sentences)
      : sentences_(sentences) {}
  bool done() const override { return index_ >= sentences_.size(); }
  void Next() override { ++index_; }
  const std::string& value() const override { return sentences_[index_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& sentences_;
  size_t index_ = 0;
};

// Points fd 2 at /dev/null for its lifetime (SentencePiece logs straight to std::cerr).
class StderrSilencer {
 public:
  explicit StderrSilencer(bool active) {
    if (!active) return;
    std::fflush(stderr);
    saved_ = ::dup(2);
    const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved_ >= 0 && null_fd >= 0) ::dup2(null_fd, 2);
    if (null_fd >= 0) ::close(null_fd);
  }
  ~StderrSilencer() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
  }

 private:
  int saved_ = -1;
};

}  // namespace

Result<std::string> train_tokenizer(const std::vector<std::string>& sentences,
                                    const TokenizerOptions& options) {
  if (options.vocab_size < kMinVocabSize)
    return make_error(
        "tokenizer vocab size: expected at least {} (3 control + 256 byte tokens + 1), found {}",
        kMinVocabSize, options.vocab_size);
  if (sentences.empty())
    return make_error("tokenizer training text: expected at least one paragraph, found none");
  const std::unordered_map<std::string, std::string> arguments = {
      {"model_type", "bpe"},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"character_coverage", "0.9995"},
      {"byte_fallback", "true"},
      {"split_digits", "true"},
      {"allow_whitespace_only_pieces", "true"},
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"add_dummy_prefix", "true"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "-1"},
      {"num_threads", "1"},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"max_sentence_length", "1000000"},
      // A small text may not support the full size: the vocabulary then stops short of it
      // (vocab_size() reports the real size) rather than failing.
      {"hard_vocab_limit", "false"},
      {"model_prefix", ""},
  };
  VectorSentenceIterator iterator(sentences);
  std::string model;
  sentencepiece::util::Status status;
  {
    StderrSilencer silence(options.quiet);
    status = sentencepiece::SentencePieceTrainer::Train(arguments, &iterator, &model);
  }
  if (!status.ok())
    return make_error("tokenizer training (SentencePiece, vocab size {}, {} paragraphs): {}",
                      options.vocab_size, sentences.size(), status.ToString());
  return model;
}

Tokenizer::Tokenizer() : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::from_serialized(const std::string& model, const std::string& name) {
  Tokenizer tokenizer;
  auto status = tokenizer.processor_->LoadFromSerializedProto(model);
  if (!status.ok())
    return make_error(
        "{}: SentencePiece model: expected a serialized ModelProto, found bytes it "
        "rejects: {}",
        name, status.ToString());
  const int newline = tokenizer.processor_->PieceToId("<0x0A>");
  if (newline <= 0 || !tokenizer.processor_->IsByte(newline))
    return make_error("{}: SentencePiece model: expected byte fallback pieces (<0x0A>), found none",
                      name);
  if (tokenizer.processor_->bos_id() != static_cast<int>(kBosId) ||
      tokenizer.processor_->unk_id() != static_cast<int>(kUnkId) ||
      tokenizer.processor_->eos_id() != static_cast<int>(kEosId))
    return make_error("{}: SentencePiece model: expected unk/bos/eos ids 0/1/2, found {}/{}/{}",
                      name, tokenizer.processor_->unk_id(), tokenizer.processor_->bos_id(),
                      tokenizer.processor_->eos_id());
  tokenizer.newline_id_ = static_cast<uint32_t>(newline);
  return tokenizer;
}

Result<Tokenizer> Tokenizer::load(const std::string& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes) return bytes.error();
  return from_serialized(std::string(bytes->begin(), bytes->end()), path);
}

int Tokenizer::vocab_size() const {
  return processor_->GetPieceSize();
}

std::vector<uint32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  const auto status = processor_->Encode(text, &ids);
  SHERRY_CHECK(status.ok(), "SentencePiece encode: {}", status.ToString());
  return std::vector<uint32_t>(ids.begin(), ids.end());
}

std::vector<uint32_t> Tokenizer::encode_document(const Document& document) const {
  // One string with '\n' between paragraphs, exactly the text a runtime would see: the newline
  // becomes the byte token and the next paragraph gets no dummy-prefix space.
  std::string text;
  for (size_t i = 0; i < document.paragraphs.size(); ++i) {
    if (i > 0) text += '\n';
    text += document.paragraphs[i];
  }
  std::vector<uint32_t> tokens = {kBosId};
  const std::vector<uint32_t> body = encode(text);
  tokens.insert(tokens.end(), body.begin(), body.end());
  return tokens;
}

std::string Tokenizer::decode(const std::vector<uint32_t>& ids) const {
  std::string text;
  const auto status = processor_->Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  SHERRY_CHECK(status.ok(), "SentencePiece decode: {}", status.ToString());
  return text;
}

}  // namespace sherry::corpus

namespace sherry::corpus {

std::vector<uint8_t> Tokenizer::token_byte_lengths() const {
  constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's space
  std::vector<uint8_t> lengths(static_cast<size_t>(vocab_size()), 0);
  for (int id = 0; id < vocab_size(); ++id) {
    if (processor_->IsByte(id)) {
      lengths[id] = 1;
      continue;
    }
    if (processor_->IsControl(id) || processor_->IsUnknown(id) || processor_->IsUnused(id))
      continue;
    const std::string piece = processor_->IdToPiece(id);
    size_t bytes = 0;
    for (size_t at = 0; at < piece.size();) {
      if (piece.compare(at, kSpaceMark.size(), kSpaceMark) == 0) {
        bytes += 1;
        at += kSpaceMark.size();
      } else {
        bytes += 1;
        at += 1;
      }
    }
    lengths[id] = static_cast<uint8_t>(std::min<size_t>(bytes, 255));
  }
  return lengths;
}

}  // namespace sherry::corpus
