// One document of the corpus (a whole book) as cleaned text: paragraphs of single-spaced UTF-8,
// no markup. Train/validation are split by document, never inside one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sherry::corpus {

struct Document {
  std::string name;    // "<source>/<book>", e.g. "austen/emma", "web/Gen"; unique in a corpus
  std::string source;  // "austen", "web", "kjv"
  std::vector<std::string> paragraphs;
  // The Bible book (OSIS id: "Gen", "Ps", …) a Bible or commentary document is about, "" for
  // other text: the split keeps a book's documents of every source on the same side.
  std::string book = {};

  // Unicode code points in the paragraphs plus one per paragraph break.
  uint64_t characters() const;
};

// Collapses every run of whitespace (ASCII whitespace, NBSP) to one space, trims both ends and
// drops other control characters.
std::string normalize_whitespace(std::string_view text);
// Hard-wrapped lines (Project Gutenberg style) to paragraphs: blank lines separate paragraphs,
// lines inside a paragraph are joined with a space; each paragraph normalised.
std::vector<std::string> paragraphs_from_lines(const std::vector<std::string>& lines);
uint64_t count_code_points(std::string_view utf8);

}  // namespace sherry::corpus
