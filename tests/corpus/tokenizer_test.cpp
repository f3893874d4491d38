// SentencePiece training and encoding, the corpus build on small documents, GGUF export.
#include "trainer/corpus/tokenizer.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "tests/corpus/test_support.h"
#include "trainer/corpus/corpus_builder.h"
#include "trainer/corpus/file_io.h"
#include "trainer/corpus/spm_to_gguf.h"
#include "trainer/corpus/token_shards.h"

namespace sherry::corpus {
namespace {

using test::contains;

// Deterministic English-like documents: sentences from a small word list picked by an LCG.
std::vector<Document> small_documents(int count, int paragraphs_per_document) {
  static const char* const kWords[] = {"the",  "lady",    "walked",  "into",    "garden", "and",
                                       "said", "that",    "Mr.",     "Darcy",   "was",    "not",
                                       "at",   "home",    "with",    "her",     "sister", "who",
                                       "had",  "been",    "reading", "letters", "from",   "London",
                                       "in",   "morning", "light",   "of",      "spring", "1811"};
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>(state >> 33);
  };
  std::vector<Document> documents;
  for (int d = 0; d < count; ++d) {
    Document document{"test/book" + std::to_string(d), "test", {}};
    for (int p = 0; p < paragraphs_per_document; ++p) {
      std::string paragraph;
      for (int s = 0; s < 3; ++s) {
        const size_t words = 6 + next() % 8;
        for (size_t w = 0; w < words; ++w) {
          std::string word = kWords[next() % std::size(kWords)];
          if (w == 0) word[0] = static_cast<char>(std::toupper(word[0]));
          paragraph += (paragraph.empty() ? "" : " ") + word;
        }
        paragraph += next() % 3 == 0 ? "; \xe2\x80\x9cindeed\xe2\x80\x9d." : ".";
      }
      document.paragraphs.push_back(paragraph);
    }
    documents.push_back(std::move(document));
  }
  return documents;
}

std::vector<std::string> paragraphs_of(const std::vector<Document>& documents) {
  std::vector<std::string> out;
  for (const auto& document : documents)
    out.insert(out.end(), document.paragraphs.begin(), document.paragraphs.end());
  return out;
}

TEST_CASE("tokenizer training on a tiny text is deterministic and round trips") {
  const std::vector<Document> documents = small_documents(4, 20);
  auto first = train_tokenizer(paragraphs_of(documents), {320, true});
  REQUIRE_MESSAGE(first.ok(), test::error_text(first));
  auto second = train_tokenizer(paragraphs_of(documents), {320, true});
  REQUIRE(second.ok());
  CHECK(*first == *second);

  auto tokenizer = Tokenizer::from_serialized(*first, "tiny");
  REQUIRE_MESSAGE(tokenizer.ok(), test::error_text(tokenizer));
  CHECK(tokenizer->vocab_size() <= 320);
  CHECK(tokenizer->vocab_size() > kMinVocabSize - 1);
  CHECK(tokenizer->newline_id() == 3 + 0x0A);
  const std::vector<uint32_t> tokens = tokenizer->encode_document(documents[0]);
  REQUIRE(tokens.size() > 2);
  CHECK(tokens[0] == kBosId);
  size_t newlines = 0;
  for (uint32_t token : tokens) {
    CHECK(token < static_cast<uint32_t>(tokenizer->vocab_size()));
    newlines += token == tokenizer->newline_id();
  }
  CHECK(newlines == documents[0].paragraphs.size() - 1);
  std::string text;
  for (const auto& paragraph : documents[0].paragraphs)
    text += (text.empty() ? "" : "\n") + paragraph;
  CHECK(tokenizer->decode(std::vector<uint32_t>(tokens.begin() + 1, tokens.end())) == text);
  // Characters never seen in training fall back to bytes and still round trip.
  const std::string unseen = "Zw\xc3\xb6lf \xe2\x88\x91 42";
  CHECK(tokenizer->decode(tokenizer->encode(unseen)) == unseen);
}

TEST_CASE("tokenizer training rejects a vocabulary too small for byte fallback") {
  auto model = train_tokenizer({"some text"}, {100, true});
  REQUIRE_FALSE(model.ok());
  CHECK(contains(model.error().message(), "expected at least 260"));
  auto empty = train_tokenizer({}, {400, true});
  REQUIRE_FALSE(empty.ok());
  CHECK(contains(empty.error().message(), "expected at least one paragraph"));
}

TEST_CASE("a corrupt tokenizer model is rejected with its path") {
  test::TempDir dir;
  REQUIRE(write_text_atomic(dir.file("tokenizer.model"), "not a model proto").ok());
  auto tokenizer = Tokenizer::load(dir.file("tokenizer.model"));
  REQUIRE_FALSE(tokenizer.ok());
  CHECK(
      contains(tokenizer.error().message(), dir.file("tokenizer.model") + ": SentencePiece model"));
  auto gguf = gguf_tokenizer_from_spm_file(dir.file("tokenizer.model"));
  REQUIRE_FALSE(gguf.ok());
  CHECK(contains(gguf.error().message(), "SentencePiece model"));
}

TEST_CASE("the document split is deterministic and keeps validation within its fraction") {
  const std::vector<Document> documents = small_documents(20, 3);
  auto split = split_documents(documents, 0.2);
  REQUIRE_MESSAGE(split.ok(), test::error_text(split));
  uint64_t total = 0, val = 0;
  size_t val_count = 0;
  for (size_t i = 0; i < documents.size(); ++i) {
    total += documents[i].characters();
    if ((*split)[i]) val += documents[i].characters(), ++val_count;
  }
  CHECK(val_count >= 1);
  CHECK(val_count < documents.size());
  CHECK(static_cast<double>(val) <= 0.2 * static_cast<double>(total));
  CHECK(*split == split_documents(documents, 0.2).value());

  // Every document larger than the budget: the smallest one still goes to validation.
  std::vector<Document> two = small_documents(2, 3);
  two[1].paragraphs.push_back("a much longer tail paragraph for the second book");
  auto fallback = split_documents(two, 0.1);
  REQUIRE(fallback.ok());
  CHECK(*fallback == std::vector<bool>{true, false});
}

TEST_CASE("the split holds a Bible book out of every source and draws from prose and scripture") {
  // Four Bible books in two translations and a commentary, and ten prose chapters.
  std::vector<Document> documents;
  const std::vector<Document> text = small_documents(14, 3);
  size_t next = 0;
  for (const char* book : {"Gen", "Exod", "Ruth", "John"})
    for (const char* source : {"web", "kjv", "mhcc"}) {
      if (std::string(source) == "mhcc" && std::string(book) == "Ruth") continue;
      Document d = text[next++ % text.size()];
      d.name = std::string(source) + "/" + book;
      d.source = source;
      d.book = book;
      documents.push_back(d);
    }
  for (int c = 0; c < 10; ++c) {
    Document d = text[c];
    d.name = "austen/emma/ch" + std::to_string(c);
    d.source = "austen";
    documents.push_back(d);
  }
  auto split = split_documents(documents, 0.3);
  REQUIRE_MESSAGE(split.ok(), test::error_text(split));
  std::map<std::string, std::set<bool>> sides;  // per book: the sides its documents went to
  bool prose_val = false, scripture_val = false;
  for (size_t i = 0; i < documents.size(); ++i) {
    if (!documents[i].book.empty()) sides[documents[i].book].insert((*split)[i]);
    (documents[i].book.empty() ? prose_val : scripture_val) |= (*split)[i];
  }
  for (const auto& [book, side] : sides) CHECK_MESSAGE(side.size() == 1, book);
  CHECK(prose_val);
  CHECK(scripture_val);
}

TEST_CASE("the document split rejects a bad fraction and too few documents") {
  const std::vector<Document> documents = small_documents(3, 1);
  auto bad = split_documents(documents, 0.7);
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.error().message(),
                 "validation fraction: expected a value in (0, 0.5), found 0.7"));
  auto one = split_documents(small_documents(1, 1), 0.1);
  REQUIRE_FALSE(one.ok());
  CHECK(contains(one.error().message(), "expected at least 2 documents"));
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  auto bytes = read_file_bytes(path);
  REQUIRE_MESSAGE(bytes.ok(), test::error_text(bytes));
  return *bytes;
}

TEST_CASE("writing a corpus twice gives identical bytes and stats validate it") {
  const std::vector<Document> documents = small_documents(10, 12);
  const std::vector<SourceInfo> sources = {{"test", "test-package", "1.0"}};
  test::TempDir first, second;
  BuildOptions options;
  options.vocab_size = 320;
  options.val_fraction = 0.2;
  options.threads = 2;
  options.out_dir = first.path();
  auto summary = write_corpus(documents, sources, options);
  REQUIRE_MESSAGE(summary.ok(), test::error_text(summary));
  options.out_dir = second.path();
  options.threads = 1;
  REQUIRE(write_corpus(documents, sources, options).ok());
  for (const char* name : {"tokenizer.model", "train.tok", "val.tok", "manifest.json"})
    CHECK_MESSAGE(file_bytes(first.file(name)) == file_bytes(second.file(name)), name);

  auto stats = read_corpus_summary(first.path());
  REQUIRE_MESSAGE(stats.ok(), test::error_text(stats));
  CHECK(stats->train.tokens == summary->train.tokens);
  CHECK(stats->val.documents == summary->val.documents);
  CHECK(stats->train.documents.size() + stats->val.documents.size() == documents.size());
  CHECK(stats->vocab_size == summary->vocab_size);
  auto train = read_token_shard(shard_path(first.path(), Split::kTrain));
  REQUIRE(train.ok());
  CHECK(train->document_count() == summary->train.documents.size());
  CHECK(train->tokens[0] == kBosId);
}

TEST_CASE("a corpus built with a given tokenizer uses it unchanged and records it") {
  const std::vector<Document> documents = small_documents(10, 12);
  const std::vector<SourceInfo> sources = {{"test", "test-package", "1.0"}};
  test::TempDir first, second;
  BuildOptions options;
  options.vocab_size = 320;
  options.val_fraction = 0.2;
  options.out_dir = first.path();
  REQUIRE(write_corpus(documents, sources, options).ok());
  // A second corpus of other text, tokenized with the first one's model.
  options.out_dir = second.path();
  options.tokenizer_path = first.file("tokenizer.model");
  auto summary = write_corpus(small_documents(6, 5), sources, options);
  REQUIRE_MESSAGE(summary.ok(), test::error_text(summary));
  CHECK(file_bytes(second.file("tokenizer.model")) == file_bytes(first.file("tokenizer.model")));
  const auto manifest = nlohmann::json::parse(file_bytes(second.file("manifest.json")));
  CHECK(manifest["inputs"].contains("tokenizer_fnv1a64"));
  options.tokenizer_path = first.file("missing.model");
  auto missing = write_corpus(documents, sources, options);
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error().message(), "missing.model"));
}

TEST_CASE("token byte lengths add up to the bytes of the encoded text") {
  const std::vector<Document> documents = small_documents(4, 20);
  auto model = train_tokenizer(paragraphs_of(documents), {320, true});
  REQUIRE(model.ok());
  auto tokenizer = Tokenizer::from_serialized(*model, "tiny");
  REQUIRE(tokenizer.ok());
  const std::vector<uint8_t> lengths = tokenizer->token_byte_lengths();
  REQUIRE(static_cast<int>(lengths.size()) == tokenizer->vocab_size());
  CHECK(lengths[kBosId] == 0);
  CHECK(lengths[tokenizer->newline_id()] == 1);
  // Text the vocabulary has never seen falls back to bytes; every byte is counted once, plus the
  // dummy-prefix space SentencePiece puts in front.
  for (const std::string& text :
       {std::string("Mr. Darcy walked into the garden."),
        std::string("Quixotic \xe2\x80\x9cz\xc3\xa9" "bra\xe2\x80\x9d 42\nnext")}) {
    size_t bytes = 0;
    for (uint32_t id : tokenizer->encode(text)) bytes += lengths[id];
    CHECK_MESSAGE(bytes == text.size() + 1, text);
  }
}

TEST_CASE("corpus stats reject a missing or inconsistent corpus directory") {
  test::TempDir dir;
  auto missing = read_corpus_summary(dir.path());
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error().message(), "run sherry-data build"));

  BuildOptions options;
  options.vocab_size = 320;
  options.val_fraction = 0.2;
  options.out_dir = dir.path();
  REQUIRE(write_corpus(small_documents(6, 8), {{"test", "test-package", "1.0"}}, options).ok());
  // A validation shard from another corpus no longer matches the manifest.
  TokenShard other;
  other.vocab_size = 320;
  const std::vector<uint32_t> tokens = {1, 50};
  other.add_document(tokens);
  REQUIRE(write_token_shard(shard_path(dir.path(), Split::kVal), other).ok());
  auto mismatch = read_corpus_summary(dir.path());
  REQUIRE_FALSE(mismatch.ok());
  CHECK(contains(mismatch.error().message(), "val.tok: expected"));
  CHECK(contains(mismatch.error().message(), "(manifest)"));

  REQUIRE(write_text_atomic(dir.file("manifest.json"), "{ not json").ok());
  auto corrupt = read_corpus_summary(dir.path());
  REQUIRE_FALSE(corrupt.ok());
  CHECK(contains(corrupt.error().message(), "manifest.json: expected JSON"));

  REQUIRE(write_text_atomic(dir.file("manifest.json"), "{\"format\": \"other\"}").ok());
  auto wrong = read_corpus_summary(dir.path());
  REQUIRE_FALSE(wrong.ok());
  CHECK(contains(wrong.error().message(), "expected format \"sherry-corpus\" version 1"));
}

TEST_CASE("building from a package missing in the cache without fetching says how to fetch it") {
  test::TempDir cache, out;
  BuildOptions options;
  options.cache_dir = cache.path();
  options.out_dir = out.path();
  options.fetch = false;
  options.sources = {"austen"};
  auto summary = build_corpus(options);
  REQUIRE_FALSE(summary.ok());
  const std::string& message = summary.error().message();
  CHECK(contains(
      message, "r-cran-janeaustenr: expected " + cache.path() + "/debs/r-cran-janeaustenr_*.deb"));
  CHECK(contains(message, "apt-get download r-cran-janeaustenr"));
  CHECK(contains(message, "scripts/build_corpus.sh"));
}

TEST_CASE("building rejects unknown and repeated sources") {
  BuildOptions options;
  options.out_dir = "unused";
  options.fetch = false;
  options.sources = {"shakespeare"};
  auto unknown = build_corpus(options);
  REQUIRE_FALSE(unknown.ok());
  CHECK(contains(unknown.error().message(), "source \"shakespeare\": expected one of austen, web"));
  options.sources = {"web", "austen", "web"};
  auto twice = build_corpus(options);
  REQUIRE_FALSE(twice.ok());
  CHECK(contains(twice.error().message(),
                 "source \"web\": expected each source once, found it twice"));
  options.sources = {};
  auto none = build_corpus(options);
  REQUIRE_FALSE(none.ok());
  CHECK(contains(none.error().message(), "sources: expected at least one"));
}

TEST_CASE("building rejects a bad validation fraction or vocabulary size before fetching") {
  test::TempDir cache;
  BuildOptions options;
  options.out_dir = cache.file("out");
  options.cache_dir = cache.path();
  options.val_fraction = 0;
  auto fraction = build_corpus(options);
  REQUIRE_FALSE(fraction.ok());
  CHECK(contains(fraction.error().message(),
                 "validation fraction: expected a value in (0, 0.5), found 0"));
  options.val_fraction = 0.1;
  options.vocab_size = 200;
  auto vocab = build_corpus(options);
  REQUIRE_FALSE(vocab.ok());
  CHECK(contains(vocab.error().message(), "vocab size: expected at least 260"));
  CHECK_FALSE(std::filesystem::exists(cache.file("debs")));
}

TEST_CASE("a corrupt cached package reports the failed extraction") {
  test::TempDir cache, out;
  std::filesystem::create_directories(cache.file("debs"));
  REQUIRE(
      write_text_atomic(cache.file("debs/sword-text-web_1.0_all.deb"), "not an ar archive").ok());
  BuildOptions options;
  options.cache_dir = cache.path();
  options.out_dir = out.path();
  options.fetch = false;
  options.sources = {"web"};
  auto summary = build_corpus(options);
  REQUIRE_FALSE(summary.ok());
  CHECK(contains(summary.error().message(), "sword-text-web_1.0_all.deb: `dpkg -x` failed"));
}

TEST_CASE("a SentencePiece model converts into GGUF tokenizer metadata") {
  auto model = train_tokenizer(paragraphs_of(small_documents(4, 20)), {320, true});
  REQUIRE(model.ok());
  auto gguf_tokenizer = gguf_tokenizer_from_spm(*model, "tiny");
  REQUIRE_MESSAGE(gguf_tokenizer.ok(), test::error_text(gguf_tokenizer));
  auto tokenizer = Tokenizer::from_serialized(*model, "tiny");
  REQUIRE(tokenizer.ok());
  const size_t size = static_cast<size_t>(tokenizer->vocab_size());
  REQUIRE(gguf_tokenizer->tokens.size() == size);
  REQUIRE(gguf_tokenizer->scores.size() == size);
  REQUIRE(gguf_tokenizer->token_types.size() == size);
  CHECK(gguf_tokenizer->tokens[0] == "<unk>");
  CHECK(gguf_tokenizer->token_types[0] == 2);
  CHECK(gguf_tokenizer->token_types[1] == 3);
  CHECK(gguf_tokenizer->token_types[2] == 3);
  CHECK(gguf_tokenizer->tokens[3 + 0x0A] == "<0x0A>");
  CHECK(gguf_tokenizer->token_types[3 + 0x0A] == 6);
  CHECK(gguf_tokenizer->token_types.back() == 1);
  CHECK(gguf_tokenizer->bos_id == 1);
  CHECK(gguf_tokenizer->eos_id == 2);
  CHECK(gguf_tokenizer->unknown_id == 0);
  CHECK(gguf_tokenizer->add_space_prefix);

  test::TempDir dir;
  gguf::Writer writer;
  add_gguf_tokenizer(*gguf_tokenizer, writer);
  REQUIRE(writer.write(dir.file("vocab.gguf")).ok());
  auto reader = gguf::Reader::open(dir.file("vocab.gguf"));
  REQUIRE_MESSAGE(reader.ok(), test::error_text(reader));
  namespace names = gguf::names;
  CHECK((*reader)->get_string(names::kTokenizerModel).value() == "llama");
  CHECK((*reader)->get_string_array(names::kTokenizerTokens).value() == gguf_tokenizer->tokens);
  const std::vector<int64_t> types = (*reader)->get_int_array(names::kTokenizerTokenType).value();
  CHECK(types == std::vector<int64_t>(gguf_tokenizer->token_types.begin(),
                                      gguf_tokenizer->token_types.end()));
  const std::vector<double> scores = (*reader)->get_float_array(names::kTokenizerScores).value();
  REQUIRE(scores.size() == size);
  CHECK(scores[size - 1] == doctest::Approx(gguf_tokenizer->scores[size - 1]));
  CHECK((*reader)->get_int(names::kTokenizerBosId).value() == 1);
  CHECK((*reader)->get_int(names::kTokenizerEosId).value() == 2);
  CHECK((*reader)->get_int(names::kTokenizerUnknownId).value() == 0);
}

}  // namespace
}  // namespace sherry::corpus
