// Jane Austen's novels from Debian's r-cran-janeaustenr: R's lazy-load data base
// usr/lib/R/site-library/janeaustenr/data/Rdata.{rdx,rdb}, one character vector of
// Project Gutenberg lines per novel (or a data frame of text + book factor, as austen_books()
// returns: both forms are read). One document per novel.
#pragma once

#include <string>
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

// All novels from an extracted package root (the folder dpkg -x wrote), variables in index order.
Result<std::vector<Document>> read_austen(const std::string& package_root);

// Cleans Gutenberg emphasis markers (_word_) and joins hard-wrapped lines into paragraphs.
std::vector<std::string> clean_austen_lines(const std::vector<std::string>& lines);

}  // namespace sherry::corpus
