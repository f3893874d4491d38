// The exported vocabulary through sherry's runtime tokenizer: the ids the model is trained on
// (SentencePiece) must be the ids the runtime produces from the same text, and decode back.
#include <doctest/doctest.h>

#include "runtime/gguf/gguf_file.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/vocab.h"
#include "tests/corpus/test_support.h"
#include "trainer/corpus/spm_to_gguf.h"
#include "trainer/corpus/tokenizer.h"

namespace sherry::corpus {
namespace {

TEST_CASE("the runtime tokenizer encodes like SentencePiece from the exported GGUF vocabulary") {
  // Training text with words, digits, punctuation and non-ASCII letters.
  std::vector<std::string> sentences;
  const char* const kLines[] = {
      "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
      "must be in want of a wife.",
      "In the beginning, God created the heavens and the earth.",
      "The year was 1811; the sisters were reading \xe2\x80\x9cletters\xe2\x80\x9d from London.",
      "Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition.",
      "Mr. Darcy walked into the garden and said that Miss Bennet was not at home.",
  };
  for (int repeat = 0; repeat < 30; ++repeat)
    for (const char* line : kLines)
      sentences.push_back(std::string(line) + " " + std::to_string(repeat * 7));
  auto model = train_tokenizer(sentences, {400, true});
  REQUIRE_MESSAGE(model.ok(), test::error_text(model));
  auto spm = Tokenizer::from_serialized(*model, "tiny");
  REQUIRE(spm.ok());
  auto exported = gguf_tokenizer_from_spm(*model, "tiny");
  REQUIRE_MESSAGE(exported.ok(), test::error_text(exported));

  test::TempDir dir;
  gguf::Writer writer;
  add_gguf_tokenizer(*exported, writer);
  REQUIRE(writer.write(dir.file("vocab.gguf")).ok());
  auto reader = gguf::Reader::open(dir.file("vocab.gguf"));
  REQUIRE_MESSAGE(reader.ok(), test::error_text(reader));
  auto vocab = runtime::load_vocab(**reader);
  REQUIRE_MESSAGE(vocab.ok(), test::error_text(vocab));
  auto runtime_tokenizer = runtime::Tokenizer::create(std::move(*vocab), "vocab.gguf");
  REQUIRE_MESSAGE(runtime_tokenizer.ok(), test::error_text(runtime_tokenizer));

  std::vector<std::string> texts(std::begin(kLines), std::end(kLines));
  texts.push_back("First paragraph.\nSecond paragraph with 2024 and 3.14.\nThird");
  texts.push_back("Zw\xc3\xb6lf na\xc3\xafve \xe2\x88\x91 caf\xc3\xa9 \xe2\x80\x94 unseen letters");
  texts.push_back("  two  spaces   and trailing ");
  for (const std::string& text : texts) {
    CAPTURE(text);
    std::vector<uint32_t> expected = {kBosId};
    const std::vector<uint32_t> body = spm->encode(text);
    expected.insert(expected.end(), body.begin(), body.end());
    const std::vector<int32_t> ids = runtime_tokenizer->encode(text, /*add_special=*/true, false);
    CHECK(std::vector<uint32_t>(ids.begin(), ids.end()) == expected);
    CHECK(runtime_tokenizer->decode(std::span<const int32_t>(ids).subspan(1)) == spm->decode(body));
  }
}

}  // namespace
}  // namespace sherry::corpus
