// Jane Austen's novels from Debian's r-cran-janeaustenr: R's lazy-load data base
// usr/lib/R/site-library/janeaustenr/data/Rdata.{rdx,rdb}, one character vector of
// Project Gutenberg lines per novel (or a data frame of text + book factor, as austen_books()
// returns: both forms are read), cut into one document per chapter ("austen/emma/ch001": the
// novel's title joins its first chapter), so the validation split can hold out chapters of every
// novel rather than whole novels.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "trainer/corpus/document.h"
#include "trainer/corpus/r_serialize.h"

namespace sherry::corpus {

inline constexpr std::string_view kAustenDataBase = "usr/lib/R/site-library/janeaustenr/data/Rdata";

// Documents from one R object: a character vector becomes one document named
// "austen/<variable>"; a data frame with a character "text" column and a factor "book" column
// becomes one document per book level, in level order. `what` names the object in errors.
Result<std::vector<Document>> austen_documents_from_r(const r::Object& object,
                                                      const std::string& variable,
                                                      const std::string& what);

// A chapter heading paragraph: "CHAPTER 12", "Chapter IV", "CHAPTER XLI." (the forms the
// Gutenberg texts use).
bool is_chapter_heading(std::string_view paragraph);
// One document per chapter (the heading is its first paragraph), named <novel>/ch001, …; the
// paragraphs before the first heading join the first chapter; a text without headings stays whole.
std::vector<Document> split_chapters(Document novel);

// All chapters of all novels from an extracted package root (the folder dpkg -x wrote), variables
// in index order.
Result<std::vector<Document>> read_austen(const std::string& package_root);

// Cleans Gutenberg emphasis markers (_word_) and joins hard-wrapped lines into paragraphs.
std::vector<std::string> clean_austen_lines(const std::vector<std::string>& lines);

}  // namespace sherry::corpus
