// Verse text from OSIS XML fragments (a SWORD module's entries, fed in canonical order): markup
// stripped, footnotes, headings, speaker labels and alternative readings dropped, front matter
// (prefaces; introductions too unless kept, as a commentary's are) skipped, paragraphs kept, table
// cells separated by a space and rows by a paragraph break. A new document starts at each book
// (<div type="book" osisID="Gen" sID=…/>), with Document::book set to the osisID; text before the
// first book is dropped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "trainer/corpus/document.h"

namespace sherry::corpus {

class OsisExtractor {
 public:
  // keep_introductions: a commentary's <div type="introduction"> is its own prose, a Bible's is
  // editorial front matter.
  explicit OsisExtractor(std::string source, bool keep_introductions = false)
      : source_(std::move(source)), keep_introductions_(keep_introductions) {}

  // One entry (verse or heading). `where` names it in errors (unterminated tag or entity).
  Status add_entry(std::string_view xml, const std::string& where);
  // Ends the last paragraph and book and hands out the documents.
  std::vector<Document> finish();

 private:
  void handle_tag(std::string_view tag);
  void paragraph_break();
  void append_text(std::string_view text);

  std::string source_;
  bool keep_introductions_ = false;
  std::vector<Document> documents_;
  bool in_book_ = false;
  std::string paragraph_;
  int dropped_depth_ = 0;  // inside <note>, <title>, <speaker>, <rdg>, <catchWord>
  std::string front_sid_;  // skipping front matter until <div eID=front_sid_/>
  bool after_dropped_ =
      false;  // a dropped element just ended (footnotes often stand in for a space)
};

// Decodes the five XML entities and numeric character references; false on a malformed one.
bool decode_xml_entities(std::string_view text, std::string* out);

}  // namespace sherry::corpus
