// Text cleaning, the Austen data frame form, SWORD zText files and OSIS extraction.
#include <doctest/doctest.h>

#include "tests/corpus/test_support.h"
#include "trainer/corpus/austen_source.h"
#include "trainer/corpus/osis_text.h"
#include "trainer/corpus/sword_ztext.h"

namespace sherry::corpus {
namespace {

using test::contains;
using test::XdrWriter;

TEST_CASE("whitespace normalisation collapses runs and drops control characters") {
  CHECK(normalize_whitespace("  a \t b\r\n\nc\xc2\xa0"
                             "d\x01 ") == "a b c d");
  CHECK(normalize_whitespace(" \n ") == "");
  CHECK(count_code_points("caf\xc3\xa9 \xe2\x80\x9cx\xe2\x80\x9d") == 8);
}

TEST_CASE("hard-wrapped lines become paragraphs split at blank lines") {
  const std::vector<std::string> lines = {"CHAPTER I",
                                          "",
                                          "Emma Woodhouse, handsome, clever,",
                                          "and _rich_, with a comfortable home",
                                          "   ",
                                          "",
                                          "FINIS"};
  CHECK(clean_austen_lines(lines) ==
        std::vector<std::string>{
            "CHAPTER I", "Emma Woodhouse, handsome, clever, and rich, with a comfortable home",
            "FINIS"});
  Document document{"austen/emma", "austen", clean_austen_lines(lines)};
  CHECK(document.characters() == 9 + 1 + 67 + 1 + 5);
}

r::ObjectPtr parse(const XdrWriter& w) {
  auto object = r::unserialize(w.bytes(), "frame");
  REQUIRE_MESSAGE(object.ok(), test::error_text(object));
  return *object;
}

TEST_CASE("an austen_books data frame becomes one document per book level") {
  XdrWriter w;
  w.flags(19, true, false, 0, true).put_int(2);
  w.strings({"EMMA", "", "Emma Woodhouse", "PERSUASION", "Sir Walter"});
  w.ints(13, {1, 1, 1, 2, 2}, true);
  w.flags(2, false, true).symbol("levels").strings({"Emma", "Persuasion", "Unused Book"});
  w.flags(2, false, true).symbol("class").strings({"factor"}).nil();
  w.flags(2, false, true).symbol("names").strings({"text", "book"});
  w.flags(2, false, true).reference(2).strings({"tbl_df", "data.frame"}).nil();
  auto documents = austen_documents_from_r(*parse(w), "austen_books", "austen_books");
  REQUIRE_MESSAGE(documents.ok(), test::error_text(documents));
  REQUIRE(documents->size() == 2);
  CHECK((*documents)[0].name == "austen/emma");
  CHECK((*documents)[0].paragraphs == std::vector<std::string>{"EMMA", "Emma Woodhouse"});
  CHECK((*documents)[1].name == "austen/persuasion");
  CHECK((*documents)[1].paragraphs == std::vector<std::string>{"PERSUASION Sir Walter"});
}

TEST_CASE("an austen data frame without a factor book column is rejected") {
  XdrWriter w;
  w.flags(19, true, false, 0, true).put_int(2);
  w.strings({"a"});
  w.strings({"Emma"});
  w.flags(2, false, true).symbol("names").strings({"text", "book"});
  w.flags(2, false, true).symbol("class").strings({"data.frame"}).nil();
  auto documents = austen_documents_from_r(*parse(w), "books", "Rdata.rdb: variable \"books\"");
  REQUIRE_FALSE(documents.ok());
  CHECK(contains(documents.error().message(),
                 "Rdata.rdb: variable \"books\": data frame column \"book\": expected a factor, "
                 "found character vector"));
}

TEST_CASE("an austen variable that is neither text nor a data frame is rejected") {
  XdrWriter w;
  w.ints(13, {1, 2});
  auto documents = austen_documents_from_r(*parse(w), "numbers", "numbers");
  REQUIRE_FALSE(documents.ok());
  CHECK(contains(documents.error().message(),
                 "expected a character vector or a data frame, found a integer vector"));
}

TEST_CASE("an austen factor code outside its levels is rejected") {
  XdrWriter w;
  w.flags(19, true, false, 0, true).put_int(2);
  w.strings({"a"});
  w.ints(13, {4}, true);
  w.flags(2, false, true).symbol("levels").strings({"Emma"});
  w.flags(2, false, true).symbol("class").strings({"factor"}).nil();
  w.flags(2, false, true).symbol("names").strings({"text", "book"});
  w.flags(2, false, true).reference(2).strings({"data.frame"}).nil();
  auto documents = austen_documents_from_r(*parse(w), "books", "books");
  REQUIRE_FALSE(documents.ok());
  CHECK(contains(documents.error().message(), "row 1: expected a code in 1..1, found 4"));
}

// A zText testament: entries grouped into zlib blocks; block boundaries as given.
struct ZText {
  std::vector<uint8_t> bzs, bzv, bzz;
};

ZText make_ztext(const std::vector<std::vector<std::string>>& blocks, size_t padding = 0) {
  ZText files;
  for (size_t b = 0; b < blocks.size(); ++b) {
    std::string text;
    for (const auto& entry : blocks[b]) {
      test::put_le(files.bzv, b, 4);
      test::put_le(files.bzv, text.size(), 4);
      test::put_le(files.bzv, entry.size() & 0xFFFF, 2);  // SWORD's 16-bit size field
      text += entry;
    }
    std::vector<uint8_t> compressed =
        test::zlib_compress(std::vector<uint8_t>(text.begin(), text.end()));
    compressed.resize(compressed.size() + padding, 0);
    test::put_le(files.bzs, files.bzz.size(), 4);
    test::put_le(files.bzs, compressed.size(), 4);
    test::put_le(files.bzs, text.size(), 4);
    files.bzz.insert(files.bzz.end(), compressed.begin(), compressed.end());
  }
  return files;
}

TEST_CASE("zText entries come back in index order across blocks") {
  ZText files = make_ztext({{"", "intro"}, {"In the beginning", "", "God said"}}, /*padding=*/16);
  auto entries = read_ztext_entries({files.bzs, files.bzv, files.bzz}, "web/ot");
  REQUIRE_MESSAGE(entries.ok(), test::error_text(entries));
  CHECK(*entries == std::vector<std::string>{"", "intro", "In the beginning", "", "God said"});
}

TEST_CASE("a zText entry over 64 KiB whose 16-bit size wrapped is read whole") {
  const std::string long_entry(70000, 'a');
  ZText files = make_ztext({{long_entry, "next"}});
  auto entries = read_ztext_entries({files.bzs, files.bzv, files.bzz}, "web/ot");
  REQUIRE_MESSAGE(entries.ok(), test::error_text(entries));
  CHECK((*entries)[0].size() == 70000);
  CHECK((*entries)[1] == "next");
}

TEST_CASE("zText index files of the wrong size are rejected") {
  ZText files = make_ztext({{"a"}});
  files.bzv.pop_back();
  auto entries = read_ztext_entries({files.bzs, files.bzv, files.bzz}, "web/ot");
  REQUIRE_FALSE(entries.ok());
  CHECK(contains(entries.error().message(),
                 "web/ot.bzv: size: expected a multiple of 10 bytes, found 9"));
  files = make_ztext({{"a"}});
  files.bzs.push_back(0);
  entries = read_ztext_entries({files.bzs, files.bzv, files.bzz}, "web/ot");
  REQUIRE_FALSE(entries.ok());
  CHECK(contains(entries.error().message(),
                 "web/ot.bzs: size: expected a multiple of 12 bytes, found 13"));
}

TEST_CASE("zText entries pointing outside their block or to a missing block are rejected") {
  ZText files = make_ztext({{"abc"}});
  files.bzv[0] = 3;  // block 3 of 1
  auto entries = read_ztext_entries({files.bzs, files.bzv, files.bzz}, "web/nt");
  REQUIRE_FALSE(entries.ok());
  CHECK(contains(entries.error().message(),
                 "web/nt.bzv: entry 0: expected a block below 1, found 3"));

  files = make_ztext({{"abc"}});
  files.bzv[8] = 9;  // 9 bytes from a 3-byte block
  entries = read_ztext_entries({files.bzs, files.bzv, files.bzz}, "web/nt");
  REQUIRE_FALSE(entries.ok());
  CHECK(contains(entries.error().message(),
                 "entry 0: expected bytes 0..9 inside block 0, found a block of 3 bytes"));

  files = make_ztext({{"abc"}});
  files.bzs[4] = 200;  // compressed size beyond bzz
  entries = read_ztext_entries({files.bzs, files.bzv, files.bzz}, "web/nt");
  REQUIRE_FALSE(entries.ok());
  CHECK(contains(entries.error().message(),
                 "web/nt.bzs: block 0: expected bytes 0..200 inside web/nt.bzz"));

  files = make_ztext({{"abc"}});
  files.bzz[3] ^= 0xFF;
  files.bzz[5] ^= 0xFF;
  entries = read_ztext_entries({files.bzs, files.bzv, files.bzz}, "web/nt");
  REQUIRE_FALSE(entries.ok());
  CHECK(contains(entries.error().message(), "web/nt.bzz: block 0: zlib stream"));
}

std::vector<Document> extract(const std::vector<std::string>& entries) {
  OsisExtractor extractor("web");
  for (size_t i = 0; i < entries.size(); ++i) {
    Status status = extractor.add_entry(entries[i], "entry " + std::to_string(i));
    REQUIRE_MESSAGE(status.ok(), test::error_text(status));
  }
  return extractor.finish();
}

TEST_CASE("OSIS extraction keeps verse text and drops notes titles and front matter") {
  const std::vector<std::string> entries = {
      "<milestone type=\"x-importer\"/>",
      "<div sID=\"g2\" type=\"front\"/><title>Preface</title><div sID=\"g3\" type=\"x-p\"/>About "
      "this Bible.<div eID=\"g3\" type=\"x-p\"/><div eID=\"g2\" type=\"front\"/>"
      "<div canonical=\"true\" osisID=\"Gen\" sID=\"g24\" type=\"book\"/><title "
      "type=\"main\">Genesis</title>"
      "<div sID=\"g25\" type=\"x-p\"/>",
      "<chapter n=\"1\" osisID=\"Gen.1\" sID=\"Gen.1\"/>",
      "<w lemma=\"strong:H0430\">In</w> <w>the</w> beginning, <w>God</w><note placement=\"foot\">"
      "<reference type=\"annotateRef\">1:1 </reference>The word &amp; note.</note><w>created</w> "
      "the heavens &amp; the earth. ",
      "The earth was &#x201C;empty&#8221;.<div eID=\"g25\" type=\"x-p\"/>",
      "<l level=\"1\" sID=\"l1\"/>A line of song,<l eID=\"l1\" level=\"1\"/><l level=\"2\" "
      "sID=\"l2\"/>and "
      "another.<l eID=\"l2\" level=\"2\"/>",
      "<div canonical=\"true\" osisID=\"Exod\" sID=\"g99\" type=\"book\"/><speaker>Moses</speaker>",
      "Now these are the names.",
  };
  const std::vector<Document> documents = extract(entries);
  REQUIRE(documents.size() == 2);
  CHECK(documents[0].name == "web/Gen");
  CHECK(documents[0].source == "web");
  CHECK(documents[0].paragraphs ==
        std::vector<std::string>{
            "In the beginning, God created the heavens & the earth. The earth was \xe2\x80\x9c"
            "empty\xe2\x80\x9d.",
            "A line of song,", "and another."});
  CHECK(documents[1].name == "web/Exod");
  CHECK(documents[1].paragraphs == std::vector<std::string>{"Now these are the names."});
}

TEST_CASE("zText4 entries have 32-bit sizes and linked entries are read once") {
  // A commentary links verses 1 to 3 to one text: three index entries with the same (block,
  // offset, size); the 12-byte index of zCom4 carries a 32-bit size.
  const std::string shared = "On verses 1 to 3.";
  const std::string text = "intro" + shared + "verse 4";
  ZText files;
  auto entry = [&](uint32_t offset, uint32_t size) {
    test::put_le(files.bzv, 0, 4);
    test::put_le(files.bzv, offset, 4);
    test::put_le(files.bzv, size, 4);
  };
  entry(0, 5);
  entry(5, shared.size());
  entry(5, shared.size());
  entry(5, shared.size());
  entry(5 + shared.size(), 7);
  const auto compressed = test::zlib_compress(std::vector<uint8_t>(text.begin(), text.end()));
  test::put_le(files.bzs, 0, 4);
  test::put_le(files.bzs, compressed.size(), 4);
  test::put_le(files.bzs, text.size(), 4);
  files.bzz = compressed;
  auto entries = read_ztext_entries({files.bzs, files.bzv, files.bzz}, "tdavid/ot", 12, 'c');
  REQUIRE_MESSAGE(entries.ok(), test::error_text(entries));
  CHECK(*entries == std::vector<std::string>{"intro", shared, "", "", "verse 4"});
  // The same index read as 10-byte entries is the wrong size, named with the module's letter.
  files.bzv.push_back(0);
  auto wrong = read_ztext_entries({files.bzs, files.bzv, files.bzz}, "tdavid/ot", 12, 'c');
  REQUIRE_FALSE(wrong.ok());
  CHECK(contains(wrong.error().message(),
                 "tdavid/ot.czv: size: expected a multiple of 12 bytes, found 61"));
}

TEST_CASE("a commentary keeps its introductions and table rows and knows each book") {
  const std::vector<std::string> entries = {
      "<div canonical=\"true\" osisID=\"Gen\" sID=\"g2\" type=\"book\"/>",
      "<div sID=\"g3\" type=\"introduction\"/><div sID=\"g4\" type=\"x-p\"/>Genesis is a "
      "name.<div eID=\"g4\" type=\"x-p\"/><div eID=\"g3\" type=\"introduction\"/>"
      "<table> <row><cell>God creates.</cell><cell>(1-2)</cell></row> "
      "<row><cell>Light.</cell><cell>(3-5)</cell></row> </table>",
      "<div sID=\"g5\" type=\"x-p\"/>A note, vs. 9-14 &lt;/ol&gt;<div eID=\"g5\" type=\"x-p\"/>",
  };
  OsisExtractor commentary("mhcc", /*keep_introductions=*/true);
  for (size_t i = 0; i < entries.size(); ++i)
    REQUIRE(commentary.add_entry(entries[i], std::to_string(i)).ok());
  const std::vector<Document> kept = commentary.finish();
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].name == "mhcc/Gen");
  CHECK(kept[0].book == "Gen");
  CHECK(kept[0].paragraphs == std::vector<std::string>{"Genesis is a name.", "God creates. (1-2)",
                                                       "Light. (3-5)", "A note, vs. 9-14"});
  OsisExtractor bible("web");  // a Bible's introduction is front matter
  for (size_t i = 0; i < entries.size(); ++i)
    REQUIRE(bible.add_entry(entries[i], std::to_string(i)).ok());
  CHECK(bible.finish()[0].paragraphs ==
        std::vector<std::string>{"God creates. (1-2)", "Light. (3-5)", "A note, vs. 9-14"});
}

TEST_CASE("austen novels split into chapters with the title in the first") {
  CHECK(is_chapter_heading("CHAPTER 12"));
  CHECK(is_chapter_heading("Chapter IV"));
  CHECK(is_chapter_heading("CHAPTER XLI."));
  CHECK_FALSE(is_chapter_heading("CHAPTER"));
  CHECK_FALSE(is_chapter_heading("Chapter one"));
  CHECK_FALSE(is_chapter_heading("CHAPTERS 1"));
  CHECK_FALSE(is_chapter_heading("The chapter 3 of it"));
  Document novel{"austen/emma",
                 "austen",
                 {"EMMA", "VOLUME I", "CHAPTER I", "Emma Woodhouse.", "CHAPTER II", "Mr. Weston."},
                 ""};
  const std::vector<Document> chapters = split_chapters(novel);
  REQUIRE(chapters.size() == 2);
  CHECK(chapters[0].name == "austen/emma/ch001");
  CHECK(chapters[0].source == "austen");
  CHECK(chapters[0].paragraphs ==
        std::vector<std::string>{"EMMA", "VOLUME I", "CHAPTER I", "Emma Woodhouse."});
  CHECK(chapters[1].name == "austen/emma/ch002");
  CHECK(chapters[1].paragraphs == std::vector<std::string>{"CHAPTER II", "Mr. Weston."});
  Document plain{"austen/fragment", "austen", {"No chapters here."}, ""};
  const std::vector<Document> whole = split_chapters(plain);
  REQUIRE(whole.size() == 1);
  CHECK(whole[0].name == "austen/fragment");
}

TEST_CASE("OSIS extraction rejects an unterminated tag with the entry named") {
  OsisExtractor extractor("web");
  Status status = extractor.add_entry("text <w lemma=\"x\"", "ot.bzv: entry 7");
  REQUIRE_FALSE(status.ok());
  CHECK(contains(status.error().message(),
                 "ot.bzv: entry 7: OSIS markup: expected '>' to close the tag at byte 5"));
}

TEST_CASE("OSIS extraction rejects a malformed entity") {
  OsisExtractor extractor("web");
  Status status = extractor.add_entry("fish &chips; here", "nt.bzv: entry 3");
  REQUIRE_FALSE(status.ok());
  CHECK(contains(status.error().message(),
                 "nt.bzv: entry 3: OSIS text: expected well-formed entities"));
  std::string out;
  CHECK_FALSE(decode_xml_entities("&#xD800;", &out));
  CHECK_FALSE(decode_xml_entities("&#;", &out));
  CHECK(decode_xml_entities("a&lt;b&gt;&quot;&apos;&#65;", &out));
  CHECK(out == "a<b>\"'A");
}

TEST_CASE("randomly corrupted zText files and OSIS text give an error or a value and never crash") {
  const ZText original = make_ztext({{"", "<div type=\"book\" osisID=\"Gen\" sID=\"a\"/>"},
                                     {"In the <w>beginning</w>", "God &amp; <note>n</note>said"}});
  for (uint64_t seed = 1; seed <= 1500; ++seed) {
    CAPTURE(seed);
    test::Corrupter corrupter(seed);
    ZText files = original;
    switch (seed % 3) {
      case 0:
        files.bzs = corrupter.corrupt(files.bzs);
        break;
      case 1:
        files.bzv = corrupter.corrupt(files.bzv);
        break;
      case 2:
        files.bzz = corrupter.corrupt(files.bzz);
        break;
    }
    auto entries = read_ztext_entries({files.bzs, files.bzv, files.bzz}, "fuzz/ot");
    if (!entries.ok()) {
      CHECK(contains(entries.error().message(), "fuzz/ot"));
      continue;
    }
    OsisExtractor extractor("web");
    for (const auto& entry : *entries) {
      const std::string noisy = [&] {
        std::vector<uint8_t> bytes(entry.begin(), entry.end());
        bytes = corrupter.corrupt(bytes);
        return std::string(bytes.begin(), bytes.end());
      }();
      (void)extractor.add_entry(noisy, "entry");
    }
    for (const Document& document : extractor.finish())
      for (const auto& paragraph : document.paragraphs) CHECK_FALSE(paragraph.empty());
  }
}

}  // namespace
}  // namespace sherry::corpus
