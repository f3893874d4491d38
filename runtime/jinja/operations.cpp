#include "runtime/jinja/operations.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "runtime/tokenizer/unicode.h"

namespace sherry::jinja {
namespace {

// jinja2's object_type_repr: "None", "dict object", "list object", ...
std::string object_type(const Value& v) {
  if (v.is_none()) return "None";
  return v.type_name() + " object";
}

Value unsafe(const Value& object, const std::string& name) {
  return Value::undefined(
      fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, object.type_name()));
}

Value missing_attribute(const Value& object, const std::string& name) {
  return Value::undefined(fmt::format("'{}' has no attribute '{}'", object_type(object), name));
}

bool is_python_space(uint32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x1f);
  return (runtime::unicode_flags(cp) & runtime::kWhitespace) != 0;
}

std::string string_arg(const Value& v, const char* method) {
  if (!v.is_string()) {
    throw RenderError(fmt::format("{}() argument must be str, not {}", method, v.type_name()));
  }
  return v.as_string();
}

int64_t int_arg(const Value& v, const char* what) {
  if (!v.is_int() && !v.is_bool()) {
    throw RenderError(fmt::format("{} must be an integer, not {}", what, v.type_name()));
  }
  return v.as_int();
}

std::vector<std::string> split(const std::string& s, const Value& sep, int64_t maxsplit,
                               bool from_right) {
  std::vector<std::string> parts;
  if (sep.is_none() || sep.is_undefined()) {
    // Runs of white space, no empty parts.
    const auto cps = runtime::decode_utf8(s);
    std::vector<std::pair<size_t, size_t>> words;  // byte ranges
    size_t i = 0;
    while (i < cps.size()) {
      while (i < cps.size() && is_python_space(cps[i].value)) ++i;
      if (i >= cps.size()) break;
      const size_t begin = cps[i].offset;
      while (i < cps.size() && !is_python_space(cps[i].value)) ++i;
      const size_t end = i < cps.size() ? cps[i].offset : s.size();
      words.emplace_back(begin, end);
    }
    if (maxsplit < 0 || static_cast<size_t>(maxsplit) >= words.size()) {
      for (const auto& [b, e] : words) parts.push_back(s.substr(b, e - b));
      return parts;
    }
    const auto n = static_cast<size_t>(maxsplit);
    // The remainder keeps its white space on the far side.
    if (!from_right) {
      for (size_t w = 0; w < n; ++w)
        parts.push_back(s.substr(words[w].first, words[w].second - words[w].first));
      parts.push_back(s.substr(words[n].first));
    } else {
      const size_t keep = words.size() - n;
      parts.push_back(s.substr(0, words[keep - 1].second));
      for (size_t w = keep; w < words.size(); ++w)
        parts.push_back(s.substr(words[w].first, words[w].second - words[w].first));
    }
    return parts;
  }
  const std::string& d = string_arg(sep, "split");
  if (d.empty()) throw RenderError("empty separator");
  if (!from_right) {
    size_t start = 0;
    int64_t done = 0;
    while (maxsplit < 0 || done < maxsplit) {
      const size_t at = s.find(d, start);
      if (at == std::string::npos) break;
      parts.push_back(s.substr(start, at - start));
      start = at + d.size();
      ++done;
    }
    parts.push_back(s.substr(start));
    return parts;
  }
  size_t end = s.size();
  int64_t done = 0;
  std::vector<std::string> reversed;
  while (maxsplit < 0 || done < maxsplit) {
    if (end < d.size()) break;
    const size_t at = s.rfind(d, end - d.size());
    if (at == std::string::npos) break;
    reversed.push_back(s.substr(at + d.size(), end - at - d.size()));
    end = at;
    ++done;
  }
  reversed.push_back(s.substr(0, end));
  return {reversed.rbegin(), reversed.rend()};
}

Value string_list(const std::vector<std::string>& parts) {
  std::vector<Value> items;
  for (const std::string& p : parts) items.emplace_back(p);
  return Value::list(std::move(items));
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to,
                        int64_t count) {
  if (from.empty()) {
    // Python inserts `to` between every character (and at both ends).
    std::string out;
    int64_t done = 0;
    for (const std::string_view ch : utf8_characters(s)) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      out += ch;
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  std::string out;
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t at = s.find(from, start);
    if (at == std::string::npos) break;
    out += s.substr(start, at - start);
    out += to;
    start = at + from.size();
    ++done;
  }
  return out + s.substr(start);
}

// str.format: {} {0} {name} and {{ }}; format specs are not applied (str() of the value).
std::string python_format(const std::string& f, const Arguments& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '{' && i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < f.size() && f[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      const size_t close = f.find('}', i);
      if (close == std::string::npos) throw RenderError("Single '{' encountered in format string");
      std::string field = f.substr(i + 1, close - i - 1);
      const size_t colon = field.find_first_of(":!");
      if (colon != std::string::npos) field.resize(colon);
      Value v;
      if (field.empty()) {
        if (auto_index >= args.positional.size()) {
          throw RenderError(fmt::format(
              "Replacement index {} out of range for positional args tuple", auto_index));
        }
        v = args.positional[auto_index++];
      } else if (std::all_of(field.begin(), field.end(),
                             [](char d) { return std::isdigit(static_cast<unsigned char>(d)); })) {
        const size_t index = std::stoul(field);
        if (index >= args.positional.size()) {
          throw RenderError(
              fmt::format("Replacement index {} out of range for positional args tuple", index));
        }
        v = args.positional[index];
      } else {
        bool found = false;
        for (const auto& [key, value] : args.keyword) {
          if (key == field) {
            v = value;
            found = true;
          }
        }
        if (!found) throw RenderError(fmt::format("'{}'", field));
      }
      out += v.str();
      i = close;
    } else if (c == '}') {
      throw RenderError("Single '}' encountered in format string");
    } else {
      out += c;
    }
  }
  return out;
}

// printf-style str % args: %s %r %d %i %f (with a precision) and %%.
std::string percent_format(const std::string& f, const Value& operand) {
  std::vector<Value> args;
  if (operand.is_list() && operand.as_list().tuple) {
    args = operand.as_list().items;
  } else {
    args.push_back(operand);
  }
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    size_t j = i + 1;
    int precision = -1;
    if (j < f.size() && f[j] == '.') {
      precision = 0;
      while (++j < f.size() && std::isdigit(static_cast<unsigned char>(f[j])))
        precision = precision * 10 + (f[j] - '0');
    }
    if (j >= f.size()) throw RenderError("incomplete format");
    const char conv = f[j];
    if (conv == '%') {
      out += '%';
      i = j;
      continue;
    }
    if (next >= args.size()) throw RenderError("not enough arguments for format string");
    const Value& v = args[next++];
    switch (conv) {
      case 's':
        out += v.str();
        break;
      case 'r':
        out += v.repr();
        break;
      case 'd':
      case 'i':
        if (!v.is_number())
          throw RenderError(
              fmt::format("%{} format: a real number is required, not {}", conv, v.type_name()));
        out += std::to_string(v.is_float() ? static_cast<int64_t>(v.as_number()) : v.as_int());
        break;
      case 'f':
        if (!v.is_number())
          throw RenderError(fmt::format("must be real number, not {}", v.type_name()));
        out += fmt::format("{:.{}f}", v.as_number(), precision < 0 ? 6 : precision);
        break;
      default:
        throw RenderError(fmt::format("unsupported format character '{}'", conv));
    }
    i = j;
  }
  if (next < args.size()) throw RenderError("not all arguments converted during string formatting");
  return out;
}

int64_t char_count(const std::string& s) {
  return static_cast<int64_t>(utf8_characters(s).size());
}

Value string_method(const Value& object, const std::string& name) {
  const std::string s = object.as_string();
  auto method = [&](auto fn) { return Value::function("str." + name, fn); };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool left = name != "rstrip";
    const bool right = name != "lstrip";
    return method([s, left, right](Arguments& a) {
      return Value(strip(s, a.get(0, "chars", Value(nullptr)), left, right));
    });
  }
  if (name == "split" || name == "rsplit") {
    const bool from_right = name == "rsplit";
    return method([s, from_right](Arguments& a) {
      return string_list(split(s, a.get(0, "sep", Value(nullptr)),
                               int_arg(a.get(1, "maxsplit", Value(-1)), "maxsplit"), from_right));
    });
  }
  if (name == "startswith" || name == "endswith") {
    const bool start = name == "startswith";
    return method([s, start](Arguments& a) {
      const Value p = a.get(0, "prefix");
      std::vector<Value> options = p.is_list() ? p.as_list().items : std::vector<Value>{p};
      for (const Value& o : options) {
        const std::string& text = string_arg(o, start ? "startswith" : "endswith");
        if (start ? s.rfind(text, 0) == 0
                  : (s.size() >= text.size() &&
                     s.compare(s.size() - text.size(), text.size(), text) == 0))
          return Value(true);
      }
      return Value(false);
    });
  }
  if (name == "replace") {
    return method([s](Arguments& a) {
      return Value(replace_all(s, string_arg(a.get(0, "old"), "replace"),
                               string_arg(a.get(1, "new"), "replace"),
                               int_arg(a.get(2, "count", Value(-1)), "count")));
    });
  }
  if (name == "upper") return method([s](Arguments&) { return Value(ascii_upper(s)); });
  if (name == "lower") return method([s](Arguments&) { return Value(ascii_lower(s)); });
  if (name == "title") return method([s](Arguments&) { return Value(python_title(s)); });
  if (name == "capitalize") {
    return method([s](Arguments&) {
      std::string out = ascii_lower(s);
      if (!out.empty())
        out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
      return Value(out);
    });
  }
  if (name == "format") return method([s](Arguments& a) { return Value(python_format(s, a)); });
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    const bool right = name[0] == 'r';
    const bool raise = name.find("index") != std::string::npos;
    return method([s, right, raise](Arguments& a) {
      const std::string& sub = string_arg(a.get(0, "sub"), "find");
      const size_t at = right ? s.rfind(sub) : s.find(sub);
      if (at == std::string::npos) {
        if (raise) throw RenderError("substring not found");
        return Value(-1);
      }
      return Value(char_count(s.substr(0, at)));
    });
  }
  if (name == "count") {
    return method([s](Arguments& a) {
      const std::string& sub = string_arg(a.get(0, "sub"), "count");
      if (sub.empty()) return Value(char_count(s) + 1);
      int64_t n = 0;
      for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
      return Value(n);
    });
  }
  if (name == "join") {
    return method([s](Arguments& a) {
      std::string out;
      bool first = true;
      for (const Value& item : iterate(a.get(0, "iterable"))) {
        if (!item.is_string()) {
          throw RenderError(
              fmt::format("sequence item: expected str instance, {} found", item.type_name()));
        }
        if (!first) out += s;
        first = false;
        out += item.as_string();
      }
      return Value(out);
    });
  }
  if (name == "splitlines") {
    return method([s](Arguments& a) {
      const bool keep = a.get(0, "keepends", Value(false)).truthy();
      std::vector<std::string> lines;
      size_t start = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\n' && s[i] != '\r') continue;
        size_t end = i + 1;
        if (s[i] == '\r' && end < s.size() && s[end] == '\n') ++end;
        lines.push_back(s.substr(start, (keep ? end : i) - start));
        start = end;
        i = end - 1;
      }
      if (start < s.size()) lines.push_back(s.substr(start));
      return string_list(lines);
    });
  }
  using Predicate = int (*)(int);
  auto all_of = [&](Predicate p) {
    return method([s, p](Arguments&) {
      return Value(!s.empty() && std::all_of(s.begin(), s.end(), [p](char c) {
        return p(static_cast<unsigned char>(c)) != 0;
      }));
    });
  };
  if (name == "isdigit") return all_of(+[](int c) { return std::isdigit(c); });
  if (name == "isalpha") return all_of(+[](int c) { return std::isalpha(c); });
  if (name == "isalnum") return all_of(+[](int c) { return std::isalnum(c); });
  if (name == "isspace") return all_of(+[](int c) { return std::isspace(c); });
  if (name == "islower" || name == "isupper") {
    const bool lower = name == "islower";
    return method([s, lower](Arguments&) {
      bool cased = false;
      for (const char c : s) {
        if (std::isupper(static_cast<unsigned char>(c))) {
          if (lower) return Value(false);
          cased = true;
        } else if (std::islower(static_cast<unsigned char>(c))) {
          if (!lower) return Value(false);
          cased = true;
        }
      }
      return Value(cased);
    });
  }
  return missing_attribute(object, name);
}

Value dict_method(const Value& object, const std::string& name) {
  static const char* const kUnsafe[] = {"pop", "popitem", "update", "setdefault", "clear"};
  for (const char* u : kUnsafe) {
    if (name == u) return unsafe(object, name);
  }
  const Value self = object;
  auto method = [&](auto fn) { return Value::function("dict." + name, fn); };
  if (name == "items") {
    return method([self](Arguments&) {
      std::vector<Value> items;
      for (const auto& [k, v] : self.as_dict().items) items.push_back(Value::list({k, v}, true));
      return Value::list(std::move(items));
    });
  }
  if (name == "keys" || name == "values") {
    const bool keys = name == "keys";
    return method([self, keys](Arguments&) {
      std::vector<Value> items;
      for (const auto& [k, v] : self.as_dict().items) items.push_back(keys ? k : v);
      return Value::list(std::move(items));
    });
  }
  if (name == "get") {
    return method([self](Arguments& a) {
      const Value* v = self.as_dict().find(a.get(0, "key"));
      return v != nullptr ? *v : a.get(1, "default", Value(nullptr));
    });
  }
  if (name == "copy") {
    return method([self](Arguments&) {
      Value copy = Value::dict();
      copy.as_dict().items = self.as_dict().items;
      return copy;
    });
  }
  return Value();  // not a method: look the key up
}

Value list_method(const Value& object, const std::string& name) {
  static const char* const kUnsafe[] = {"append", "extend",  "insert", "pop",
                                        "remove", "reverse", "sort",   "clear"};
  for (const char* u : kUnsafe) {
    if (name == u) return unsafe(object, name);
  }
  const Value self = object;
  if (name == "index" || name == "count") {
    const bool index = name == "index";
    return Value::function("list." + name, [self, index](Arguments& a) {
      const Value x = a.get(0, "value");
      const auto& items = self.as_list().items;
      int64_t n = 0;
      for (size_t i = 0; i < items.size(); ++i) {
        if (items[i] == x) {
          if (index) return Value(static_cast<int64_t>(i));
          ++n;
        }
      }
      if (index) throw RenderError(fmt::format("{} is not in list", x.repr()));
      return Value(n);
    });
  }
  if (name == "copy")
    return Value::function("list.copy", [self](Arguments&) {
      return Value::list(self.as_list().items, self.as_list().tuple);
    });
  return missing_attribute(object, name);
}

// Python's index normalisation for one subscript: nullopt when out of range.
std::optional<size_t> normalize_index(int64_t i, size_t size) {
  const auto n = static_cast<int64_t>(size);
  if (i < 0) i += n;
  if (i < 0 || i >= n) return std::nullopt;
  return static_cast<size_t>(i);
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

void require_numbers(const Value& a, const Value& b, const char* op) {
  a.require_defined();
  b.require_defined();
  if (!a.is_number() || !b.is_number()) {
    throw RenderError(fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op,
                                  a.type_name(), b.type_name()));
  }
}

Value repeat(const Value& sequence, int64_t times) {
  if (sequence.is_string()) {
    std::string out;
    for (int64_t i = 0; i < times; ++i) out += sequence.as_string();
    return Value(out);
  }
  std::vector<Value> items;
  for (int64_t i = 0; i < times; ++i) {
    items.insert(items.end(), sequence.as_list().items.begin(), sequence.as_list().items.end());
  }
  return Value::list(std::move(items), sequence.as_list().tuple);
}

}  // namespace

Value get_attribute(const Value& object, const std::string& name, bool item_fallback) {
  object.require_defined();
  if (object.is_string()) return string_method(object, name);
  if (object.is_list()) return list_method(object, name);
  if (object.is_namespace()) {
    const Value* v = object.as_dict().find(Value(name));
    return v != nullptr ? *v : missing_attribute(object, name);
  }
  if (object.is_dict()) {
    Value method = dict_method(object, name);
    if (!method.is_undefined() || !method.as_undefined().hint.empty()) return method;
    const Value* v = item_fallback ? object.as_dict().find(Value(name)) : nullptr;
    return v != nullptr ? *v : missing_attribute(object, name);
  }
  if (object.is_number() && (name == "real" || name == "imag")) {
    if (name == "imag") return object.is_float() ? Value(0.0) : Value(0);
    return object.is_float() ? object : Value(object.as_int());
  }
  return missing_attribute(object, name);
}

Value get_item(const Value& object, const Value& key) {
  object.require_defined();
  key.require_defined();
  if (object.is_generator()) return Value::undefined("'generator' object is not subscriptable");
  if (object.is_list() || object.is_string()) {
    if (key.is_int() || key.is_bool()) {
      if (object.is_string()) {
        const auto chars = utf8_characters(object.as_string());
        const auto i = normalize_index(key.as_int(), chars.size());
        if (!i)
          return Value::undefined(
              fmt::format("'{}' has no element {}", object_type(object), key.as_int()));
        return Value(chars[*i]);
      }
      const auto& items = object.as_list().items;
      const auto i = normalize_index(key.as_int(), items.size());
      if (!i)
        return Value::undefined(
            fmt::format("'{}' has no element {}", object_type(object), key.as_int()));
      return items[*i];
    }
  } else if (object.is_dict() || object.is_namespace()) {
    if (const Value* v = object.as_dict().find(key)) return *v;
  }
  if (key.is_string()) {
    Value attribute = get_attribute(object, key.as_string());
    if (!attribute.is_undefined() ||
        attribute.as_undefined().hint.find("unsafe") != std::string::npos)
      return attribute;
  }
  return Value::undefined(fmt::format("'{}' has no element {}", object_type(object), key.repr()));
}

Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step) {
  object.require_defined();
  auto bound = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_undefined() || v.is_none()) return std::nullopt;
    return int_arg(v, what);
  };
  const int64_t s = bound(step, "slice step").value_or(1);
  if (s == 0) throw RenderError("slice step cannot be zero");
  std::vector<std::string_view> chars;
  size_t size = 0;
  if (object.is_string()) {
    chars = utf8_characters(object.as_string());
    size = chars.size();
  } else if (object.is_list() && !object.is_generator()) {
    size = object.as_list().items.size();
  } else {
    throw RenderError(fmt::format("'{}' object is not subscriptable", object.type_name()));
  }
  const auto n = static_cast<int64_t>(size);
  auto clamp = [&](std::optional<int64_t> v, int64_t fallback) {
    if (!v) return fallback;
    int64_t i = *v;
    if (i < 0) i += n;
    if (s > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  const int64_t first = clamp(bound(start, "slice start"), s > 0 ? 0 : n - 1);
  const int64_t last = clamp(bound(stop, "slice stop"), s > 0 ? n : -1);
  std::vector<size_t> picked;
  for (int64_t i = first; s > 0 ? i < last : i > last; i += s)
    picked.push_back(static_cast<size_t>(i));
  if (object.is_string()) {
    std::string out;
    for (const size_t i : picked) out += chars[i];
    return Value(out);
  }
  std::vector<Value> items;
  for (const size_t i : picked) items.push_back(object.as_list().items[i]);
  return Value::list(std::move(items), object.as_list().tuple);
}

Value binary(BinaryOp op, const Value& a, const Value& b) {
  switch (op) {
    case BinaryOp::kConcat:
      return Value(a.str() + b.str());
    case BinaryOp::kAdd:
      a.require_defined();
      b.require_defined();
      if (a.is_markup() || b.is_markup()) {
        // Markup.__add__ / __radd__: the plain operand is escaped.
        if (!a.is_string() || !b.is_string()) {
          throw RenderError(fmt::format("unsupported operand type(s) for +: '{}' and '{}'",
                                        a.type_name(), b.type_name()));
        }
        const std::string left = a.is_markup() ? a.as_string() : html_escape(a.as_string());
        const std::string right = b.is_markup() ? b.as_string() : html_escape(b.as_string());
        return Value::markup(left + right);
      }
      if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
      if (a.is_list() && b.is_list() && !a.is_generator() && !b.is_generator() &&
          a.as_list().tuple == b.as_list().tuple) {
        std::vector<Value> items = a.as_list().items;
        items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
        return Value::list(std::move(items), a.as_list().tuple);
      }
      if (a.is_string() && !b.is_string()) {
        throw RenderError(
            fmt::format("can only concatenate str (not \"{}\") to str", b.type_name()));
      }
      require_numbers(a, b, "+");
      if (a.is_float() || b.is_float()) return Value(a.as_number() + b.as_number());
      return Value(a.as_int() + b.as_int());
    case BinaryOp::kSub:
      require_numbers(a, b, "-");
      if (a.is_float() || b.is_float()) return Value(a.as_number() - b.as_number());
      return Value(a.as_int() - b.as_int());
    case BinaryOp::kMul:
      a.require_defined();
      b.require_defined();
      if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool()))
        return repeat(a, b.as_int());
      if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool()))
        return repeat(b, a.as_int());
      require_numbers(a, b, "*");
      if (a.is_float() || b.is_float()) return Value(a.as_number() * b.as_number());
      return Value(a.as_int() * b.as_int());
    case BinaryOp::kDiv:
      require_numbers(a, b, "/");
      if (b.as_number() == 0) throw RenderError("division by zero");
      return Value(a.as_number() / b.as_number());
    case BinaryOp::kFloorDiv:
      require_numbers(a, b, "//");
      if (b.as_number() == 0) throw RenderError("integer division or modulo by zero");
      if (a.is_float() || b.is_float()) return Value(std::floor(a.as_number() / b.as_number()));
      return Value(floor_div(a.as_int(), b.as_int()));
    case BinaryOp::kMod:
      a.require_defined();
      if (a.is_string()) return Value(percent_format(a.as_string(), b));
      require_numbers(a, b, "%");
      if (b.as_number() == 0) throw RenderError("integer division or modulo by zero");
      if (a.is_float() || b.is_float()) {
        const double x = a.as_number();
        const double y = b.as_number();
        double r = std::fmod(x, y);
        if (r != 0 && ((r < 0) != (y < 0))) r += y;
        return Value(r);
      }
      return Value(a.as_int() - floor_div(a.as_int(), b.as_int()) * b.as_int());
    case BinaryOp::kPow:
      require_numbers(a, b, "**");
      if (!a.is_float() && !b.is_float() && b.as_int() >= 0) {
        int64_t r = 1;
        for (int64_t i = 0; i < b.as_int(); ++i) r *= a.as_int();
        return Value(r);
      }
      return Value(std::pow(a.as_number(), b.as_number()));
    case BinaryOp::kAnd:
    case BinaryOp::kOr:
      break;  // short-circuit: the interpreter's
  }
  throw RenderError("internal: and/or reached binary()");
}

bool compare(CompareOp op, const Value& a, const Value& b) {
  switch (op) {
    case CompareOp::kEq:
      return a == b;
    case CompareOp::kNe:
      return !(a == b);
    case CompareOp::kLt:
      return Value::less(a, b);
    case CompareOp::kLe:
      return !Value::less(b, a);
    case CompareOp::kGt:
      return Value::less(b, a);
    case CompareOp::kGe:
      return !Value::less(a, b);
    case CompareOp::kIn:
      return contains(b, a);
    case CompareOp::kNotIn:
      return !contains(b, a);
  }
  return false;
}

bool contains(const Value& container, const Value& item) {
  if (container.is_undefined()) return false;
  if (container.is_string()) {
    if (!item.is_string()) {
      throw RenderError(
          fmt::format("'in <string>' requires string as left operand, not {}", item.type_name()));
    }
    return container.as_string().find(item.as_string()) != std::string::npos;
  }
  if (container.is_list()) {
    const std::vector<Value> items = iterate(container);
    return std::find(items.begin(), items.end(), item) != items.end();
  }
  if (container.is_dict()) return container.as_dict().find(item) != nullptr;
  throw RenderError(fmt::format("argument of type '{}' is not iterable", container.type_name()));
}

std::vector<Value> iterate(const Value& v) {
  if (v.is_undefined()) return {};
  if (v.is_generator()) return std::exchange(v.as_list().items, {});  // used up
  if (v.is_list()) return v.as_list().items;
  if (v.is_dict()) {
    std::vector<Value> keys;
    for (const auto& [k, value] : v.as_dict().items) keys.push_back(k);
    return keys;
  }
  if (v.is_string()) {
    std::vector<Value> chars;
    for (const std::string_view c : utf8_characters(v.as_string())) chars.emplace_back(c);
    return chars;
  }
  throw RenderError(fmt::format("'{}' object is not iterable", v.type_name()));
}

Value call(const Value& callee, Arguments& args) {
  callee.require_defined();
  if (!callee.is_callable())
    throw RenderError(fmt::format("'{}' object is not callable", callee.type_name()));
  return callee.as_callable().call(args);
}

std::string strip(const std::string& s, const Value& chars, bool left, bool right) {
  const auto cps = runtime::decode_utf8(s);
  std::vector<uint32_t> set;
  const bool whitespace = chars.is_none() || chars.is_undefined();
  if (!whitespace) {
    for (const auto& cp : runtime::decode_utf8(string_arg(chars, "strip"))) set.push_back(cp.value);
  }
  auto strippable = [&](uint32_t cp) {
    return whitespace ? is_python_space(cp) : std::find(set.begin(), set.end(), cp) != set.end();
  };
  size_t begin = 0;
  size_t end = cps.size();
  if (left) {
    while (begin < end && strippable(cps[begin].value)) ++begin;
  }
  if (right) {
    while (end > begin && strippable(cps[end - 1].value)) --end;
  }
  if (begin == end) return "";
  const size_t from = cps[begin].offset;
  const size_t to = cps[end - 1].offset + cps[end - 1].length;
  return s.substr(from, to - from);
}

std::string python_title(const std::string& s) {
  std::string out = s;
  bool previous_cased = false;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalpha(u)) {
      c = static_cast<char>(previous_cased ? std::tolower(u) : std::toupper(u));
      previous_cased = true;
    } else {
      previous_cased = u >= 0x80 && previous_cased;  // inside a non-ASCII letter's bytes
    }
  }
  return out;
}

std::string ascii_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string ascii_upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace sherry::jinja
