#include "trainer/corpus/osis_text.h"

#include <array>
#include <cctype>
#include <span>

namespace sherry::corpus {
namespace {

// Elements whose content is not running verse text.
constexpr std::array<std::string_view, 5> kDroppedElements = {"note", "title", "speaker", "rdg",
                                                              "catchWord"};
// Elements that start or end a paragraph or a line of poetry.
constexpr std::array<std::string_view, 8> kBreakElements = {"p",    "lb",   "l",       "lg",
                                                            "item", "list", "chapter", "row"};

bool contains(std::span<const std::string_view> set, std::string_view name) {
  for (auto candidate : set)
    if (candidate == name) return true;
  return false;
}

// Value of attribute `key` in a tag's text ("" when absent). Attributes are key="value" or
// key='value'.
std::string_view attribute(std::string_view tag, std::string_view key) {
  size_t at = 0;
  while ((at = tag.find(key, at)) != std::string_view::npos) {
    const bool starts_word =
        at > 0 && (tag[at - 1] == ' ' || tag[at - 1] == '\t' || tag[at - 1] == '\n');
    size_t next = at + key.size();
    if (starts_word && next + 1 < tag.size() && tag[next] == '=' &&
        (tag[next + 1] == '"' || tag[next + 1] == '\'')) {
      const char quote = tag[next + 1];
      const size_t end = tag.find(quote, next + 2);
      if (end == std::string_view::npos) return {};
      return tag.substr(next + 2, end - next - 2);
    }
    at = next;
  }
  return {};
}

void append_utf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// Removes HTML tags that reached the text escaped ("&lt;/ol&gt;" in Scofield's notes): '<', an
// optional '/', letters, '>'.
void strip_escaped_tags(std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<') {
      size_t j = i + 1;
      if (j < text.size() && text[j] == '/') ++j;
      const size_t letters = j;
      while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
      if (j > letters && j < text.size() && text[j] == '>') {
        i = j;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  text = std::move(out);
}

}  // namespace

bool decode_xml_entities(std::string_view text, std::string* out) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out->push_back(text[i]);
      continue;
    }
    const size_t end = text.find(';', i);
    if (end == std::string_view::npos || end - i > 12) return false;
    const std::string_view entity = text.substr(i + 1, end - i - 1);
    if (entity == "amp")
      out->push_back('&');
    else if (entity == "lt")
      out->push_back('<');
    else if (entity == "gt")
      out->push_back('>');
    else if (entity == "quot")
      out->push_back('"');
    else if (entity == "apos")
      out->push_back('\'');
    else if (entity.size() >= 2 && entity[0] == '#') {
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const std::string_view digits = entity.substr(hex ? 2 : 1);
      if (digits.empty()) return false;
      uint32_t code_point = 0;
      for (char c : digits) {
        int digit = -1;
        if (c >= '0' && c <= '9')
          digit = c - '0';
        else if (hex && c >= 'a' && c <= 'f')
          digit = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F')
          digit = c - 'A' + 10;
        if (digit < 0) return false;
        code_point = code_point * (hex ? 16 : 10) + static_cast<uint32_t>(digit);
        if (code_point > 0x10FFFF) return false;
      }
      if (code_point == 0 || (code_point >= 0xD800 && code_point < 0xE000)) return false;
      append_utf8(code_point, out);
    } else {
      return false;
    }
    i = end;
  }
  return true;
}

Status OsisExtractor::add_entry(std::string_view xml, const std::string& where) {
  size_t at = 0;
  while (at < xml.size()) {
    const size_t open = xml.find('<', at);
    const std::string_view text =
        xml.substr(at, open == std::string_view::npos ? xml.npos : open - at);
    if (!text.empty()) {
      std::string decoded;
      if (!decode_xml_entities(text, &decoded))
        return make_error(
            "{}: OSIS text: expected well-formed entities (&amp; &#NN; …), found \"{}\"", where,
            text.substr(0, 60));
      strip_escaped_tags(decoded);
      append_text(decoded);
    }
    if (open == std::string_view::npos) break;
    const size_t close = xml.find('>', open);
    if (close == std::string_view::npos)
      return make_error(
          "{}: OSIS markup: expected '>' to close the tag at byte {}, found the end of the entry",
          where, open);
    handle_tag(xml.substr(open + 1, close - open - 1));
    at = close + 1;
  }
  // Entries are verses: keep a word break between them.
  append_text(" ");
  return Status::success();
}

void OsisExtractor::handle_tag(std::string_view tag) {
  const bool closing = !tag.empty() && tag[0] == '/';
  const bool self_closing = !tag.empty() && tag.back() == '/';
  std::string_view body = closing ? tag.substr(1) : tag;
  const size_t name_end = body.find_first_of(" \t\n/");
  const std::string_view name = body.substr(0, name_end);

  if (contains(kDroppedElements, name)) {
    if (self_closing) return;
    dropped_depth_ += closing ? -1 : 1;
    if (dropped_depth_ < 0) dropped_depth_ = 0;
    if (closing && dropped_depth_ == 0) after_dropped_ = true;
    return;
  }
  if (name == "div") {
    const std::string_view type = attribute(tag, "type");
    const std::string_view start_id = attribute(tag, "sID");
    const std::string_view end_id = attribute(tag, "eID");
    if (type == "book" && !start_id.empty()) {
      paragraph_break();
      front_sid_.clear();
      const std::string book(attribute(tag, "osisID"));
      documents_.push_back(Document{source_ + "/" + book, source_, {}, book});
      in_book_ = true;
      return;
    }
    const bool front = type == "front" || (type == "introduction" && !keep_introductions_);
    if (front && !start_id.empty() && front_sid_.empty()) {
      paragraph_break();
      front_sid_ = std::string(start_id);
      return;
    }
    if (!front_sid_.empty() && end_id == front_sid_) {
      paragraph_.clear();
      front_sid_.clear();
      return;
    }
    if (type == "x-p" || type == "paragraph") paragraph_break();
    return;
  }
  if (contains(kBreakElements, name)) paragraph_break();
  if (name == "cell" && closing) append_text(" ");
}

void OsisExtractor::append_text(std::string_view text) {
  if (dropped_depth_ > 0 || !front_sid_.empty() || !in_book_ || text.empty()) return;
  // "God<note>…</note><w>created</w>": the footnote replaced the space between two words.
  const auto is_word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (after_dropped_ && !paragraph_.empty() && is_word(paragraph_.back()) && is_word(text[0]))
    paragraph_ += ' ';
  after_dropped_ = false;
  paragraph_ += text;
}

void OsisExtractor::paragraph_break() {
  std::string paragraph = normalize_whitespace(paragraph_);
  paragraph_.clear();
  if (!paragraph.empty() && in_book_ && front_sid_.empty())
    documents_.back().paragraphs.push_back(std::move(paragraph));
}

std::vector<Document> OsisExtractor::finish() {
  paragraph_break();
  std::vector<Document> documents;
  for (auto& document : documents_)
    if (!document.paragraphs.empty()) documents.push_back(std::move(document));
  documents_.clear();
  in_book_ = false;
  return documents;
}

}  // namespace sherry::corpus
