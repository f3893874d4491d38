#include "runtime/jinja/builtins.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>

#include <fmt/format.h>

#include "runtime/jinja/operations.h"

namespace sherry::jinja {
namespace {

using Filter = std::function<Value(const Value&, const Arguments&)>;
using Test = std::function<bool(const Value&, const Arguments&)>;

// jinja2's make_attrgetter: "a.b.0" looked up item-first, level by level.
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    v = get_item(v, digits ? Value(static_cast<int64_t>(std::stoll(part))) : Value(part));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

// Python's str.lower for the case-insensitive filters (sort, unique, dictsort, min, max).
Value fold_case(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(ascii_lower(v.as_string()));
  return v;
}

std::function<Value(const Value&)> key_getter(const Arguments& args, size_t attribute_index,
                                              bool case_sensitive) {
  const Value attribute = args.get(attribute_index, "attribute", Value(nullptr));
  return [attribute, case_sensitive](const Value& item) {
    const Value v = attribute.is_none() ? item : attribute_path(item, attribute.str());
    return fold_case(v, case_sensitive);
  };
}

int64_t length_of(const Value& v) {
  if (v.is_undefined()) return 0;
  if (v.is_string()) return static_cast<int64_t>(utf8_characters(v.as_string()).size());
  if (v.is_generator()) throw RenderError("object of type 'generator' has no len()");
  if (v.is_list()) return static_cast<int64_t>(v.as_list().items.size());
  if (v.is_dict() || v.is_namespace()) return static_cast<int64_t>(v.as_dict().items.size());
  throw RenderError(fmt::format("object of type '{}' has no len()", v.type_name()));
}

// Python's round(x, n) for a float: the correctly rounded decimal (ties to even on the exact
// binary value), as glibc's printf rounds.
double python_round(double x, int64_t digits) {
  if (digits < 0 || digits > 300) {
    const double scale = std::pow(10.0, static_cast<double>(-digits));
    return std::nearbyint(x / scale) * scale;
  }
  char buffer[512];
  std::snprintf(buffer, sizeof(buffer), "%.*f", static_cast<int>(digits), x);
  return std::strtod(buffer, nullptr);
}

// jinja2's do_indent (3.1): lines after the first (and the first with `first`) get the indent,
// blank lines only with `blank`.
std::string indent(const std::string& s, const Value& width, bool first, bool blank) {
  const std::string pad =
      width.is_string()
          ? width.as_string()
          : std::string(static_cast<size_t>(std::max<int64_t>(0, width.as_int())), ' ');
  std::vector<std::string> lines;
  const std::string text = s + "\n";  // jinja2's quirk, so splitlines keeps a trailing empty line
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') {
      lines.push_back(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  std::string out;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) out += "\n" + pad;
      out += lines[i];
    }
  } else {
    out = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i)
      out += "\n" + (lines[i].empty() ? "" : pad + lines[i]);
  }
  if (first) out = pad + out;
  return out;
}

// jinja2's do_title: words start after white space, '-', '(', '{', '[' or '<'.
std::string jinja_title(const std::string& s) {
  std::string out;
  bool word_start = true;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool separator =
        std::isspace(u) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (separator) {
      out += c;
      word_start = true;
    } else {
      out += static_cast<char>(word_start ? std::toupper(u) : std::tolower(u));
      word_start = false;
    }
  }
  return out;
}

// int(str) as Python parses it (surrounding white space and underscores allowed).
std::optional<int64_t> parse_int(const std::string& text, int base) {
  const std::string s = strip(text, Value(nullptr), true, true);
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    i = 1;
  }
  if (i >= s.size()) return std::nullopt;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] == '_') continue;
    const int digit = std::isdigit(static_cast<unsigned char>(s[i])) ? s[i] - '0'
                      : std::isalpha(static_cast<unsigned char>(s[i]))
                          ? std::tolower(s[i]) - 'a' + 10
                          : 99;
    if (digit >= base) return std::nullopt;
    v = v * base + digit;
  }
  return negative ? -v : v;
}

std::optional<double> parse_float(const std::string& text) {
  const std::string s = strip(text, Value(nullptr), true, true);
  if (s.empty()) return std::nullopt;
  try {
    size_t used = 0;
    const double d = std::stod(s, &used);
    if (used != s.size()) return std::nullopt;
    return d;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<Value> select_items(const Value& seq, const Arguments& args, bool by_attribute,
                                bool keep) {
  std::vector<Value> out;
  const size_t test_at = by_attribute ? 1 : 0;
  const Value attribute = by_attribute ? args.get(0, "attribute") : Value();
  Arguments test_args;
  std::string test_name;
  if (args.positional.size() > test_at) {
    test_name = args.positional[test_at].str();
    test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(test_at) + 1,
                                args.positional.end());
    if (!is_test(test_name)) throw RenderError(fmt::format("No test named '{}'.", test_name));
  }
  if (!seq.truthy()) return out;  // jinja2: `if value:` before iterating
  for (const Value& item : iterate(seq)) {
    const Value subject = by_attribute ? attribute_path(item, attribute.str()) : item;
    const bool passed =
        test_name.empty() ? subject.truthy() : apply_test(test_name, subject, test_args);
    if (passed == keep) out.push_back(item);
  }
  return out;
}

Value sorted(const Value& seq, const Arguments& args, size_t first_arg) {
  const bool reverse = args.get(first_arg, "reverse", Value(false)).truthy();
  const bool case_sensitive = args.get(first_arg + 1, "case_sensitive", Value(false)).truthy();
  const auto key = key_getter(args, first_arg + 2, case_sensitive);
  std::vector<Value> items = iterate(seq);
  std::vector<std::pair<Value, size_t>> keyed;
  for (size_t i = 0; i < items.size(); ++i) keyed.emplace_back(key(items[i]), i);
  std::stable_sort(keyed.begin(), keyed.end(), [reverse](const auto& a, const auto& b) {
    return reverse ? Value::less(b.first, a.first) : Value::less(a.first, b.first);
  });
  std::vector<Value> out;
  for (const auto& [k, i] : keyed) out.push_back(items[i]);
  return Value::list(std::move(out));
}

Value extreme(const Value& seq, const Arguments& args, bool want_max) {
  const bool case_sensitive = args.get(0, "case_sensitive", Value(false)).truthy();
  const auto key = key_getter(args, 1, case_sensitive);
  const std::vector<Value> items = iterate(seq);
  if (items.empty())
    return Value::undefined(fmt::format("No aggregated item, sequence was empty."));
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    const bool better = want_max ? Value::less(key(items[best]), key(items[i]))
                                 : Value::less(key(items[i]), key(items[best]));
    if (better) best = i;
  }
  return items[best];
}

const std::map<std::string, Filter, std::less<>>& filters() {
  static const std::map<std::string, Filter, std::less<>> table = [] {
    std::map<std::string, Filter, std::less<>> f;
    f["abs"] = [](const Value& v, const Arguments&) {
      v.require_defined();
      if (v.is_float()) return Value(std::fabs(v.as_number()));
      if (v.is_number()) return Value(std::abs(v.as_int()));
      throw RenderError(fmt::format("bad operand type for abs(): '{}'", v.type_name()));
    };
    f["attr"] = [](const Value& v, const Arguments& a) {
      return get_attribute(v, a.get(0, "name").str(), false);
    };
    f["capitalize"] = [](const Value& v, const Arguments&) {
      std::string s = ascii_lower(v.str());
      if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
      return Value(s);
    };
    f["length"] = [](const Value& v, const Arguments&) { return Value(length_of(v)); };
    f["count"] = f["length"];
    f["default"] = [](const Value& v, const Arguments& a) {
      const bool boolean = a.get(1, "boolean", Value(false)).truthy();
      if (v.is_undefined() || (boolean && !v.truthy())) return a.get(0, "default_value", Value(""));
      return v;
    };
    f["d"] = f["default"];
    f["dictsort"] = [](const Value& v, const Arguments& a) {
      if (!v.is_dict())
        throw RenderError("You can only sort by either \"key\" or \"value\" of a dict");
      const bool case_sensitive = a.get(0, "case_sensitive", Value(false)).truthy();
      const std::string by = a.get(1, "by", Value("key")).str();
      const bool reverse = a.get(2, "reverse", Value(false)).truthy();
      if (by != "key" && by != "value")
        throw RenderError("You can only sort by either \"key\" or \"value\"");
      const size_t index = by == "key" ? 0 : 1;
      std::vector<Value> items;
      for (const auto& [k, value] : v.as_dict().items)
        items.push_back(Value::list({k, value}, true));
      std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
        const Value kx = fold_case(x.as_list().items[index], case_sensitive);
        const Value ky = fold_case(y.as_list().items[index], case_sensitive);
        return reverse ? Value::less(ky, kx) : Value::less(kx, ky);
      });
      return Value::list(std::move(items));
    };
    f["escape"] = [](const Value& v, const Arguments&) {
      return v.is_markup() ? v : Value::markup(html_escape(v.str()));
    };
    f["e"] = f["escape"];
    f["first"] = [](const Value& v, const Arguments&) {
      const std::vector<Value> items = iterate(v);
      if (items.empty()) return Value::undefined("No first item, sequence was empty.");
      return items.front();
    };
    f["last"] = [](const Value& v, const Arguments&) {
      if (v.is_dict() || v.is_generator())
        throw RenderError(fmt::format("'{}' object is not reversible", v.type_name()));
      const std::vector<Value> items = iterate(v);
      if (items.empty()) return Value::undefined("No last item, sequence was empty.");
      return items.back();
    };
    f["float"] = [](const Value& v, const Arguments& a) {
      if (v.is_number()) return Value(v.as_number());
      if (v.is_string()) {
        if (const auto d = parse_float(v.as_string())) return Value(*d);
      }
      return a.get(0, "default", Value(0.0));
    };
    f["int"] = [](const Value& v, const Arguments& a) {
      const Value fallback = a.get(0, "default", Value(0));
      const int base = static_cast<int>(a.get(1, "base", Value(10)).as_int());
      if (v.is_float()) return Value(static_cast<int64_t>(std::trunc(v.as_number())));
      if (v.is_number()) return Value(v.as_int());
      if (v.is_string()) {
        if (const auto i = parse_int(v.as_string(), base)) return Value(*i);
        if (const auto d = parse_float(v.as_string()))
          return Value(static_cast<int64_t>(std::trunc(*d)));
      }
      return fallback;
    };
    f["format"] = [](const Value& v, const Arguments& a) {
      return binary(BinaryOp::kMod, Value(v.str()), Value::list(a.positional, true));
    };
    f["indent"] = [](const Value& v, const Arguments& a) {
      return Value(indent(v.str(), a.get(0, "width", Value(4)),
                          a.get(1, "first", Value(false)).truthy(),
                          a.get(2, "blank", Value(false)).truthy()));
    };
    f["items"] = [](const Value& v, const Arguments&) {
      if (v.is_undefined()) return Value::list();
      if (!v.is_dict()) throw RenderError("Can only get item pairs from a mapping.");
      std::vector<Value> items;
      for (const auto& [k, value] : v.as_dict().items)
        items.push_back(Value::list({k, value}, true));
      return Value::list(std::move(items));
    };
    f["join"] = [](const Value& v, const Arguments& a) {
      const std::string separator = a.get(0, "d", Value("")).str();
      const Value attribute = a.get(1, "attribute", Value(nullptr));
      std::string out;
      bool first = true;
      for (const Value& item : iterate(v)) {
        if (!first) out += separator;
        first = false;
        out += (attribute.is_none() ? item : attribute_path(item, attribute.str())).str();
      }
      return Value(out);
    };
    f["list"] = [](const Value& v, const Arguments&) { return Value::list(iterate(v)); };
    f["lower"] = [](const Value& v, const Arguments&) { return Value(ascii_lower(v.str())); };
    f["upper"] = [](const Value& v, const Arguments&) { return Value(ascii_upper(v.str())); };
    f["map"] = [](const Value& v, const Arguments& a) {
      std::vector<Value> out;
      if (!v.truthy()) return Value::generator({});
      const Value attribute = a.get(99, "attribute");
      if (!attribute.is_undefined()) {
        const Value fallback = a.get(99, "default");
        for (const Value& item : iterate(v)) {
          Value x = attribute_path(item, attribute.str());
          out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
        }
        return Value::generator(std::move(out));
      }
      if (a.positional.empty()) throw RenderError("map requires a filter argument");
      const std::string name = a.positional[0].str();
      if (!is_filter(name)) throw RenderError(fmt::format("No filter named '{}'.", name));
      Arguments rest;
      rest.positional.assign(a.positional.begin() + 1, a.positional.end());
      rest.keyword = a.keyword;
      for (const Value& item : iterate(v)) out.push_back(apply_filter(name, item, rest));
      return Value::generator(std::move(out));
    };
    f["max"] = [](const Value& v, const Arguments& a) { return extreme(v, a, true); };
    f["min"] = [](const Value& v, const Arguments& a) { return extreme(v, a, false); };
    f["select"] = [](const Value& v, const Arguments& a) {
      return Value::generator(select_items(v, a, false, true));
    };
    f["reject"] = [](const Value& v, const Arguments& a) {
      return Value::generator(select_items(v, a, false, false));
    };
    f["selectattr"] = [](const Value& v, const Arguments& a) {
      return Value::generator(select_items(v, a, true, true));
    };
    f["rejectattr"] = [](const Value& v, const Arguments& a) {
      return Value::generator(select_items(v, a, true, false));
    };
    f["replace"] = [](const Value& v, const Arguments& a) {
      Arguments call_args;
      call_args.positional = {a.get(0, "old"), a.get(1, "new")};
      const Value count = a.get(2, "count", Value(nullptr));
      if (!count.is_none()) call_args.positional.push_back(count);
      return call(get_attribute(Value(v.str()), "replace"), call_args);
    };
    f["reverse"] = [](const Value& v, const Arguments&) {
      if (v.is_string()) {
        auto chars = utf8_characters(v.as_string());
        std::string out;
        for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
        return Value(out);
      }
      std::vector<Value> items = iterate(v);
      std::reverse(items.begin(), items.end());
      return Value::generator(std::move(items));
    };
    f["round"] = [](const Value& v, const Arguments& a) {
      const int64_t precision = a.get(0, "precision", Value(0)).as_int();
      const std::string method = a.get(1, "method", Value("common")).str();
      v.require_defined();
      if (!v.is_number())
        throw RenderError(fmt::format("type {} doesn't define __round__ method", v.type_name()));
      const double x = v.as_number();
      const double scale = std::pow(10.0, static_cast<double>(precision));
      if (method == "floor") return Value(std::floor(x * scale) / scale);
      if (method == "ceil") return Value(std::ceil(x * scale) / scale);
      if (method != "common") throw RenderError("method must be 'common', 'ceil' or 'floor'");
      if (!v.is_float()) return Value(v.as_int());
      return Value(python_round(x, precision));
    };
    f["safe"] = [](const Value& v, const Arguments&) { return Value::markup(v.str()); };
    f["sort"] = [](const Value& v, const Arguments& a) { return sorted(v, a, 0); };
    f["string"] = [](const Value& v, const Arguments&) {
      return v.is_markup() ? v : Value(v.str());
    };
    f["sum"] = [](const Value& v, const Arguments& a) {
      const Value attribute = a.get(0, "attribute", Value(nullptr));
      Value total = a.get(1, "start", Value(0));
      for (const Value& item : iterate(v)) {
        total = binary(BinaryOp::kAdd, total,
                       attribute.is_none() ? item : attribute_path(item, attribute.str()));
      }
      return total;
    };
    f["title"] = [](const Value& v, const Arguments&) { return Value(jinja_title(v.str())); };
    f["tojson"] = [](const Value& v, const Arguments& a) {
      const Value indent_arg = a.get(1, "indent", Value(nullptr));
      const Value separators = a.get(2, "separators", Value(nullptr));
      const bool sort_keys = a.get(3, "sort_keys", Value(false)).truthy();
      std::optional<std::pair<std::string, std::string>> seps;
      if (separators.is_list() && separators.as_list().items.size() == 2) {
        seps = std::make_pair(separators.as_list().items[0].str(),
                              separators.as_list().items[1].str());
      }
      const int width = indent_arg.is_none() ? -1 : static_cast<int>(indent_arg.as_int());
      return Value(v.to_json(width, sort_keys, seps));
    };
    f["trim"] = [](const Value& v, const Arguments& a) {
      std::string s = strip(v.str(), a.get(0, "chars", Value(nullptr)), true, true);
      return v.is_markup() ? Value::markup(std::move(s)) : Value(std::move(s));
    };
    f["unique"] = [](const Value& v, const Arguments& a) {
      const bool case_sensitive = a.get(0, "case_sensitive", Value(false)).truthy();
      const auto key = key_getter(a, 1, case_sensitive);
      std::vector<Value> seen;
      std::vector<Value> out;
      for (const Value& item : iterate(v)) {
        const Value k = key(item);
        if (std::find(seen.begin(), seen.end(), k) != seen.end()) continue;
        seen.push_back(k);
        out.push_back(item);
      }
      return Value::generator(std::move(out));
    };
    f["wordcount"] = [](const Value& v, const Arguments&) {
      int64_t n = 0;
      bool in_word = false;
      for (const char c : v.str()) {
        const bool word = std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                          static_cast<unsigned char>(c) >= 0x80;
        if (word && !in_word) ++n;
        in_word = word;
      }
      return Value(n);
    };
    return f;
  }();
  return table;
}

bool sameas(const Value& a, const Value& b) {
  if (a.is_list() && b.is_list()) return &a.as_list() == &b.as_list();
  if ((a.is_dict() || a.is_namespace()) && (b.is_dict() || b.is_namespace()))
    return &a.as_dict() == &b.as_dict();
  if (a.is_bool() != b.is_bool() || a.is_none() != b.is_none()) return false;
  return a.type_name() == b.type_name() && a == b;
}

const std::map<std::string, Test, std::less<>>& tests() {
  static const std::map<std::string, Test, std::less<>> table = [] {
    std::map<std::string, Test, std::less<>> t;
    t["defined"] = [](const Value& v, const Arguments&) { return !v.is_undefined(); };
    t["undefined"] = [](const Value& v, const Arguments&) { return v.is_undefined(); };
    t["none"] = [](const Value& v, const Arguments&) { return v.is_none(); };
    t["boolean"] = [](const Value& v, const Arguments&) { return v.is_bool(); };
    t["true"] = [](const Value& v, const Arguments&) { return v.is_bool() && v.as_bool(); };
    t["false"] = [](const Value& v, const Arguments&) { return v.is_bool() && !v.as_bool(); };
    t["integer"] = [](const Value& v, const Arguments&) { return v.is_int(); };
    t["float"] = [](const Value& v, const Arguments&) { return v.is_float(); };
    t["number"] = [](const Value& v, const Arguments&) { return v.is_number(); };
    t["string"] = [](const Value& v, const Arguments&) { return v.is_string(); };
    t["mapping"] = [](const Value& v, const Arguments&) { return v.is_dict(); };
    t["iterable"] = [](const Value& v, const Arguments&) {
      return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
    };
    t["sequence"] = [](const Value& v, const Arguments&) {
      return v.is_undefined() || v.is_string() || (v.is_list() && !v.is_generator()) || v.is_dict();
    };
    t["callable"] = [](const Value& v, const Arguments&) { return v.is_callable(); };
    t["sameas"] = [](const Value& v, const Arguments& a) { return sameas(v, a.get(0, "other")); };
    t["eq"] = [](const Value& v, const Arguments& a) { return v == a.get(0, "other"); };
    t["equalto"] = t["eq"];
    t["=="] = t["eq"];
    t["ne"] = [](const Value& v, const Arguments& a) { return !(v == a.get(0, "other")); };
    t["!="] = t["ne"];
    t["lt"] = [](const Value& v, const Arguments& a) { return Value::less(v, a.get(0, "other")); };
    t["lessthan"] = t["lt"];
    t["<"] = t["lt"];
    t["le"] = [](const Value& v, const Arguments& a) { return !Value::less(a.get(0, "other"), v); };
    t["<="] = t["le"];
    t["gt"] = [](const Value& v, const Arguments& a) { return Value::less(a.get(0, "other"), v); };
    t["greaterthan"] = t["gt"];
    t[">"] = t["gt"];
    t["ge"] = [](const Value& v, const Arguments& a) { return !Value::less(v, a.get(0, "other")); };
    t[">="] = t["ge"];
    t["in"] = [](const Value& v, const Arguments& a) { return contains(a.get(0, "seq"), v); };
    t["odd"] = [](const Value& v, const Arguments&) {
      return binary(BinaryOp::kMod, v, Value(2)) == Value(1);
    };
    t["even"] = [](const Value& v, const Arguments&) {
      return binary(BinaryOp::kMod, v, Value(2)) == Value(0);
    };
    t["divisibleby"] = [](const Value& v, const Arguments& a) {
      return binary(BinaryOp::kMod, v, a.get(0, "num")) == Value(0);
    };
    t["lower"] = [](const Value& v, const Arguments&) {
      const std::string s = v.str();
      return ascii_lower(s) == s && ascii_upper(s) != s;
    };
    t["upper"] = [](const Value& v, const Arguments&) {
      const std::string s = v.str();
      return ascii_upper(s) == s && ascii_lower(s) != s;
    };
    t["escaped"] = [](const Value&, const Arguments&) { return false; };
    t["filter"] = [](const Value& v, const Arguments&) {
      return v.is_string() && is_filter(v.as_string());
    };
    t["test"] = [](const Value& v, const Arguments&) {
      return v.is_string() && is_test(v.as_string());
    };
    return t;
  }();
  return table;
}

}  // namespace

bool is_filter(std::string_view name) {
  return filters().find(name) != filters().end();
}

bool is_test(std::string_view name) {
  return tests().find(name) != tests().end();
}

Value apply_filter(std::string_view name, const Value& operand, const Arguments& args) {
  const auto it = filters().find(name);
  if (it == filters().end()) throw RenderError(fmt::format("No filter named '{}'.", name));
  return it->second(operand, args);
}

bool apply_test(std::string_view name, const Value& operand, const Arguments& args) {
  const auto it = tests().find(name);
  if (it == tests().end()) throw RenderError(fmt::format("No test named '{}'.", name));
  return it->second(operand, args);
}

Value make_globals(std::tm now) {
  Value globals = Value::dict();
  Dict& g = globals.as_dict();
  g.set(
      Value("range"), Value::function("range", [](Arguments& a) {
        std::vector<int64_t> bounds;
        for (const Value& v : a.positional) {
          if (!v.is_int() && !v.is_bool())
            throw RenderError(
                fmt::format("'{}' object cannot be interpreted as an integer", v.type_name()));
          bounds.push_back(v.as_int());
        }
        if (bounds.empty() || bounds.size() > 3)
          throw RenderError(fmt::format("range expected 1 to 3 arguments, got {}", bounds.size()));
        const int64_t start = bounds.size() == 1 ? 0 : bounds[0];
        const int64_t stop = bounds.size() == 1 ? bounds[0] : bounds[1];
        const int64_t step = bounds.size() == 3 ? bounds[2] : 1;
        if (step == 0) throw RenderError("range() arg 3 must not be zero");
        constexpr int64_t kMaxRange = 100000;  // jinja2's sandbox limit
        std::vector<Value> items;
        for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
          if (static_cast<int64_t>(items.size()) >= kMaxRange)
            throw RenderError(
                "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
          items.emplace_back(i);
        }
        return Value::list(std::move(items));
      }));
  auto keyword_object = [](Value object, Arguments& a) {
    for (const Value& v : a.positional) {
      if (!v.is_dict())
        throw RenderError(fmt::format("'{}' object is not a mapping", v.type_name()));
      for (const auto& [k, value] : v.as_dict().items) object.as_dict().set(k, value);
    }
    for (const auto& [k, value] : a.keyword) object.as_dict().set(Value(k), value);
    return object;
  };
  g.set(Value("namespace"), Value::function("namespace", [keyword_object](Arguments& a) {
          return keyword_object(Value::namespace_object(), a);
        }));
  g.set(Value("dict"), Value::function("dict", [keyword_object](Arguments& a) {
          return keyword_object(Value::dict(), a);
        }));
  g.set(Value("raise_exception"), Value::function("raise_exception", [](Arguments& a) -> Value {
          throw RenderError(a.get(0, "message").str());
        }));
  g.set(Value("strftime_now"), Value::function("strftime_now", [now](Arguments& a) {
          const std::string format = a.get(0, "format").str();
          char buffer[256];
          const size_t n = std::strftime(buffer, sizeof(buffer), format.c_str(), &now);
          return Value(std::string(buffer, n));
        }));
  return globals;
}

}  // namespace sherry::jinja
