#include "trainer/corpus/jargon_source.h"

#include <algorithm>
#include <map>

#include "trainer/corpus/decompress.h"
#include "trainer/corpus/file_io.h"

namespace sherry::corpus {
namespace {

struct Entry {
  uint64_t offset = 0;
  uint64_t length = 0;
};

// The document an entry belongs to: its headword's initial letter, upper case, or "0".
std::string letter_of(std::string_view headword) {
  const char c = headword.empty() ? '0' : headword[0];
  if (c >= 'a' && c <= 'z') return std::string(1, static_cast<char>(c - 'a' + 'A'));
  if (c >= 'A' && c <= 'Z') return std::string(1, c);
  return "0";
}

// A table drawn with box characters (U+2500..U+257F, UTF-8 E2 94 xx / E2 95 xx): its columns do
// not survive joining lines either.
bool has_box_drawing(std::string_view text) {
  for (size_t i = 0; i + 1 < text.size(); ++i)
    if (text[i] == '\xE2' && (text[i + 1] == '\x94' || text[i + 1] == '\x95')) return true;
  return false;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

}  // namespace

bool decode_dictd_number(std::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t result = 0;
  for (char c : text) {
    int digit = -1;
    if (c >= 'A' && c <= 'Z') digit = c - 'A';
    if (c >= 'a' && c <= 'z') digit = c - 'a' + 26;
    if (c >= '0' && c <= '9') digit = c - '0' + 52;
    if (c == '+') digit = 62;
    if (c == '/') digit = 63;
    if (digit < 0) return false;
    result = result * 64 + static_cast<uint64_t>(digit);
  }
  *value = result;
  return true;
}

Result<std::vector<Document>> jargon_documents(std::string_view index, std::string_view dict,
                                               const std::string& index_name) {
  std::map<uint64_t, Entry> by_offset;  // file order; aliases of one definition read once
  const std::vector<std::string> lines = split_lines(index);
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string& line = lines[n];
    if (line.empty()) continue;
    const size_t tab1 = line.find('\t');
    const size_t tab2 = tab1 == std::string::npos ? tab1 : line.find('\t', tab1 + 1);
    Entry entry;
    if (tab2 == std::string::npos ||
        !decode_dictd_number(std::string_view(line).substr(tab1 + 1, tab2 - tab1 - 1),
                             &entry.offset) ||
        !decode_dictd_number(std::string_view(line).substr(tab2 + 1), &entry.length))
      return make_error(
          "{}: line {}: expected \"headword<TAB>offset<TAB>length\" in dictd base 64, found "
          "\"{}\"",
          index_name, n + 1, line.substr(0, 80));
    if (entry.offset > dict.size() || entry.length > dict.size() - entry.offset)
      return make_error(
          "{}: line {}: expected an entry inside the {}-byte dictionary, found bytes "
          "{}..{}",
          index_name, n + 1, dict.size(), entry.offset, entry.offset + entry.length);
    if (line.starts_with("00-database") || line.starts_with("00database")) continue;
    by_offset.emplace(entry.offset, entry);
  }
  std::map<std::string, Document> documents;  // by letter
  for (const auto& [offset, entry] : by_offset) {
    const std::vector<std::string> text = split_lines(dict.substr(entry.offset, entry.length));
    const std::string headword = normalize_whitespace(text.empty() ? "" : text[0]);
    if (headword.empty()) continue;
    // Line 1 is the pronunciation and part of speech; the definition follows.
    std::vector<std::string> body;
    for (size_t i = 2; i < text.size(); ++i) {
      std::string line = text[i];
      // Lines indented past the text's 4 spaces are preformatted (diagrams, code): they do not
      // survive joining, so they end the paragraph and are dropped.
      if (line.starts_with("      ")) line.clear();
      line.erase(std::remove(line.begin(), line.end(), '{'), line.end());
      line.erase(std::remove(line.begin(), line.end(), '}'), line.end());
      body.push_back(std::move(line));
    }
    const std::string letter = letter_of(headword);
    Document& document = documents[letter];
    if (document.name.empty()) {
      document.name = "jargon/" + letter;
      document.source = "jargon";
    }
    document.paragraphs.push_back(headword);
    for (std::string& paragraph : paragraphs_from_lines(body))
      if (!has_box_drawing(paragraph)) document.paragraphs.push_back(std::move(paragraph));
  }
  std::vector<Document> out;
  for (auto& [letter, document] : documents) out.push_back(std::move(document));
  if (out.empty()) return make_error("{}: expected dictionary entries, found none", index_name);
  return out;
}

Result<std::vector<Document>> read_jargon(const std::string& package_root) {
  const std::string index_path = package_root + "/" + std::string(kJargonIndex);
  const std::string dict_path = package_root + "/" + std::string(kJargonDict);
  auto index = read_file_bytes(index_path);
  if (!index) return index.error();
  auto compressed = read_file_bytes(dict_path);
  if (!compressed) return compressed.error();
  auto dict = decompress(Compression::kGzip, *compressed, 0, dict_path);
  if (!dict) return dict.error();
  return jargon_documents(
      std::string_view(reinterpret_cast<const char*>(index->data()), index->size()),
      std::string_view(reinterpret_cast<const char*>(dict->data()), dict->size()), index_path);
}

}  // namespace sherry::corpus
