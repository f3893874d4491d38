#include "trainer/corpus/austen_source.h"

#include <algorithm>

#include "trainer/corpus/lazy_load_db.h"

namespace sherry::corpus {
namespace {

std::string slug(std::string_view text) {
  std::string out;
  for (char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
      out.push_back(c);
    else if (c >= 'A' && c <= 'Z')
      out.push_back(static_cast<char>(c - 'A' + 'a'));
  }
  return out.empty() ? "unnamed" : out;
}

Document make_document(const std::string& book, const std::vector<std::string>& lines) {
  Document document;
  document.source = "austen";
  document.name = "austen/" + slug(book);
  document.paragraphs = clean_austen_lines(lines);
  return document;
}

}  // namespace

std::vector<std::string> clean_austen_lines(const std::vector<std::string>& lines) {
  std::vector<std::string> cleaned;
  cleaned.reserve(lines.size());
  for (const auto& line : lines) {
    std::string text = line;
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
    cleaned.push_back(std::move(text));
  }
  return paragraphs_from_lines(cleaned);
}

Result<std::vector<Document>> austen_documents_from_r(const r::Object& object,
                                                      const std::string& variable,
                                                      const std::string& what) {
  if (object.type == r::SexpType::kString) {
    std::vector<std::string> lines;
    lines.reserve(object.strings.size());
    for (const auto& line : object.strings) lines.push_back(line.value_or(""));
    return std::vector<Document>{make_document(variable, lines)};
  }
  if (object.type != r::SexpType::kList || !object.inherits("data.frame"))
    return make_error("{}: expected a character vector or a data frame, found a {}", what,
                      r::sexp_type_name(object.type));
  const std::vector<std::string> names = object.names();
  const r::Object* text = nullptr;
  const r::Object* book = nullptr;
  for (size_t i = 0; i < names.size() && i < object.items.size(); ++i) {
    if (names[i] == "text") text = object.items[i].get();
    if (names[i] == "book") book = object.items[i].get();
  }
  if (text == nullptr || text->type != r::SexpType::kString)
    return make_error("{}: data frame column \"text\": expected a character vector, found {}", what,
                      text ? std::string(r::sexp_type_name(text->type)) : "none");
  if (book == nullptr || book->type != r::SexpType::kInteger || !book->inherits("factor"))
    return make_error("{}: data frame column \"book\": expected a factor, found {}", what,
                      book ? std::string(r::sexp_type_name(book->type)) : "none");
  const r::Object* levels = book->attribute("levels");
  if (levels == nullptr || levels->type != r::SexpType::kString)
    return make_error("{}: factor \"book\": expected a character \"levels\" attribute, found {}",
                      what, levels ? std::string(r::sexp_type_name(levels->type)) : "none");
  if (book->ints.size() != text->strings.size())
    return make_error("{}: data frame: expected columns of equal length, found text {} and book {}",
                      what, text->strings.size(), book->ints.size());
  std::vector<std::vector<std::string>> lines(levels->strings.size());
  for (size_t row = 0; row < text->strings.size(); ++row) {
    const int32_t code = book->ints[row];
    if (code == r::kNaInteger) continue;
    if (code < 1 || static_cast<size_t>(code) > levels->strings.size())
      return make_error("{}: factor \"book\" row {}: expected a code in 1..{}, found {}", what,
                        row + 1, levels->strings.size(), code);
    lines[static_cast<size_t>(code) - 1].push_back(text->strings[row].value_or(""));
  }
  std::vector<Document> documents;
  for (size_t level = 0; level < lines.size(); ++level)
    if (!lines[level].empty())
      documents.push_back(make_document(levels->strings[level].value_or("NA"), lines[level]));
  return documents;
}

bool is_chapter_heading(std::string_view paragraph) {
  std::string_view rest;
  if (paragraph.starts_with("CHAPTER ")) {
    rest = paragraph.substr(8);
  } else if (paragraph.starts_with("Chapter ")) {
    rest = paragraph.substr(8);
  } else {
    return false;
  }
  if (rest.ends_with(".")) rest.remove_suffix(1);
  if (rest.empty()) return false;
  const bool digits =
      std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
  const bool roman = std::all_of(rest.begin(), rest.end(), [](char c) {
    return c == 'I' || c == 'V' || c == 'X' || c == 'L' || c == 'C';
  });
  return digits || roman;
}

std::vector<Document> split_chapters(Document novel) {
  std::vector<Document> chapters;
  std::vector<std::string> before;  // title and front matter: joins the first chapter
  for (std::string& paragraph : novel.paragraphs) {
    if (is_chapter_heading(paragraph)) {
      Document chapter;
      chapter.source = novel.source;
      chapter.name = fmt::format("{}/ch{:03d}", novel.name, chapters.size() + 1);
      if (chapters.empty()) chapter.paragraphs = std::move(before);
      chapters.push_back(std::move(chapter));
    }
    (chapters.empty() ? before : chapters.back().paragraphs).push_back(std::move(paragraph));
  }
  if (chapters.empty()) {
    novel.paragraphs = std::move(before);
    chapters.push_back(std::move(novel));
  }
  return chapters;
}

Result<std::vector<Document>> read_austen(const std::string& package_root) {
  const std::string base = package_root + "/" + std::string(kAustenDataBase);
  auto db = LazyLoadDb::open(base);
  if (!db) return db.error();
  std::vector<Document> documents;
  for (const auto& variable : db->variables()) {
    auto object = db->load(variable.name);
    if (!object) return object.error();
    auto books = austen_documents_from_r(
        **object, variable.name, fmt::format("{}.rdb: variable \"{}\"", base, variable.name));
    if (!books) return books.error();
    for (auto& document : *books)
      for (Document& chapter : split_chapters(std::move(document)))
        documents.push_back(std::move(chapter));
  }
  if (documents.empty())
    return make_error("{}.rdx: expected at least one novel, found no variables", base);
  return documents;
}

}  // namespace sherry::corpus
