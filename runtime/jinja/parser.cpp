#include "runtime/jinja/parser.h"

#include <initializer_list>
#include <stdexcept>

#include "runtime/jinja/builtins.h"

namespace sherry::jinja {
namespace {

class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kText:
      return "template text";
    case TokenKind::kPrintBegin:
      return "'{{'";
    case TokenKind::kPrintEnd:
      return "'}}'";
    case TokenKind::kBlockBegin:
      return "'{%'";
    case TokenKind::kBlockEnd:
      return "'%}'";
    case TokenKind::kName:
      return "'" + t.text + "'";
    case TokenKind::kString:
      return "a string";
    case TokenKind::kInteger:
    case TokenKind::kFloat:
      return "the number " + t.text;
    case TokenKind::kOperator:
      return "'" + t.text + "'";
    case TokenKind::kEnd:
      return "the end of the template";
  }
  return "?";
}

template <class Node>
ExprPtr make(Node node, int line) {
  auto e = std::make_unique<Expr>();
  e->node = std::move(node);
  e->line = line;
  return e;
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, std::string_view name) : t_(tokens), name_(name) {}

  Body parse_template() {
    std::string ended_by;
    Body body = parse_body({}, ended_by);
    if (peek().kind != TokenKind::kEnd) fail("the end of the template");
    return body;
  }

 private:
  const Token& peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (i_ < t_.size() - 1) ++i_;
    return t;
  }
  bool at_op(std::string_view op, size_t k = 0) const {
    return peek(k).kind == TokenKind::kOperator && peek(k).text == op;
  }
  bool at_name(std::string_view name, size_t k = 0) const {
    return peek(k).kind == TokenKind::kName && peek(k).text == name;
  }
  bool skip_op(std::string_view op) {
    if (!at_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!at_name(name)) return false;
    next();
    return true;
  }
  [[noreturn]] void fail(const std::string& expected) const {
    throw ParseError(fmt::format("template '{}': line {}: expected {}, found {}", name_,
                                 peek().line, expected, describe(peek())));
  }
  [[noreturn]] void fail_at(int line, const std::string& what) const {
    throw ParseError(fmt::format("template '{}': line {}: {}", name_, line, what));
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) fail("'" + std::string(op) + "'");
  }
  std::string expect_name(const char* what = "a name") {
    if (peek().kind != TokenKind::kName) fail(what);
    return next().text;
  }
  void expect_block_end() {
    if (peek().kind != TokenKind::kBlockEnd) fail("'%}'");
    next();
  }

  // Statements until a block tag named in `end_tags` (consumed up to its name, which goes to
  // `ended_by`) or the end of the template (only when end_tags is empty).
  Body parse_body(std::initializer_list<std::string_view> end_tags, std::string& ended_by) {
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.kind == TokenKind::kEnd) {
        if (end_tags.size() != 0) {
          std::string list;
          for (const std::string_view tag : end_tags)
            list += (list.empty() ? "'" : " or '") + std::string(tag) + "'";
          fail(list);
        }
        return body;
      }
      if (t.kind == TokenKind::kText) {
        body.push_back({TextStmt{t.text}, t.line});
        next();
        continue;
      }
      if (t.kind == TokenKind::kPrintBegin) {
        next();
        ExprPtr e = parse_tuple();
        if (peek().kind != TokenKind::kPrintEnd) fail("'}}'");
        next();
        body.push_back({PrintStmt{std::move(e)}, t.line});
        continue;
      }
      if (t.kind != TokenKind::kBlockBegin) fail("template text or a tag");
      const Token& tag = peek(1);
      if (tag.kind != TokenKind::kName) {
        next();
        fail("a tag name");
      }
      for (const std::string_view end : end_tags) {
        if (tag.text == end) {
          next();
          ended_by = next().text;
          return body;
        }
      }
      next();
      parse_statement(body);
    }
  }

  void parse_statement(Body& body) {
    const int line = peek().line;
    const std::string tag = next().text;
    std::string ended_by;
    if (tag == "if") {
      IfStmt s;
      ExprPtr condition = parse_expression();
      expect_block_end();
      Body branch = parse_body({"elif", "else", "endif"}, ended_by);
      s.branches.emplace_back(std::move(condition), std::move(branch));
      while (ended_by == "elif") {
        condition = parse_expression();
        expect_block_end();
        branch = parse_body({"elif", "else", "endif"}, ended_by);
        s.branches.emplace_back(std::move(condition), std::move(branch));
      }
      if (ended_by == "else") {
        expect_block_end();
        s.otherwise = parse_body({"endif"}, ended_by);
      }
      expect_block_end();
      body.push_back({std::move(s), line});
    } else if (tag == "for") {
      ForStmt s;
      const bool parenthesized = skip_op("(");
      s.targets.push_back(expect_name("a loop variable"));
      while (skip_op(",")) s.targets.push_back(expect_name("a loop variable"));
      if (parenthesized) expect_op(")");
      if (!skip_name("in")) fail("'in'");
      s.iterable = parse_tuple(/*with_condexpr=*/false);
      if (skip_name("if")) s.condition = parse_expression();
      if (at_name("recursive")) fail_at(line, "recursive loops are not supported");
      expect_block_end();
      s.body = parse_body({"else", "endfor"}, ended_by);
      if (ended_by == "else") {
        expect_block_end();
        s.otherwise = parse_body({"endfor"}, ended_by);
      }
      expect_block_end();
      body.push_back({std::move(s), line});
    } else if (tag == "set") {
      std::string first = expect_name("a variable name");
      if (skip_op(".")) {
        SetStmt s;
        s.targets.push_back(std::move(first));
        s.attribute = expect_name("an attribute name");
        expect_op("=");
        s.value = parse_tuple();
        expect_block_end();
        body.push_back({std::move(s), line});
        return;
      }
      std::vector<std::string> targets = {std::move(first)};
      while (skip_op(",")) targets.push_back(expect_name("a variable name"));
      if (skip_op("=")) {
        SetStmt s;
        s.targets = std::move(targets);
        s.value = parse_tuple();
        expect_block_end();
        body.push_back({std::move(s), line});
        return;
      }
      if (targets.size() != 1) fail("'='");
      SetBlockStmt s;
      s.target = targets[0];
      while (skip_op("|")) s.filters.push_back(parse_filter(nullptr));
      expect_block_end();
      s.body = parse_body({"endset"}, ended_by);
      expect_block_end();
      body.push_back({std::move(s), line});
    } else if (tag == "macro") {
      MacroStmt s;
      s.name = expect_name("a macro name");
      expect_op("(");
      while (!at_op(")")) {
        std::string param = expect_name("a parameter name");
        ExprPtr fallback;
        if (skip_op("=")) fallback = parse_expression();
        s.params.emplace_back(std::move(param), std::move(fallback));
        if (!skip_op(",")) break;
      }
      expect_op(")");
      expect_block_end();
      s.body = std::make_shared<Body>(parse_body({"endmacro"}, ended_by));
      if (peek().kind == TokenKind::kName) next();  // {% endmacro name %}
      expect_block_end();
      body.push_back({std::move(s), line});
    } else if (tag == "filter") {
      FilterBlockStmt s;
      s.filters.push_back(parse_filter(nullptr));
      while (skip_op("|")) s.filters.push_back(parse_filter(nullptr));
      expect_block_end();
      s.body = parse_body({"endfilter"}, ended_by);
      expect_block_end();
      body.push_back({std::move(s), line});
    } else if (tag == "break" || tag == "continue") {
      expect_block_end();
      if (tag == "break") {
        body.push_back({BreakStmt{}, line});
      } else {
        body.push_back({ContinueStmt{}, line});
      }
    } else if (tag == "generation") {
      // Hugging Face's assistant-mask marker: the body renders as is.
      expect_block_end();
      Body inner = parse_body({"endgeneration"}, ended_by);
      expect_block_end();
      for (Stmt& s : inner) body.push_back(std::move(s));
    } else {
      fail_at(line, fmt::format("expected a supported tag (if, for, set, macro, filter, break, "
                                "continue, generation), found '{}'",
                                tag));
    }
  }

  // Expressions, lowest precedence first.
  ExprPtr parse_tuple(bool with_condexpr = true) {
    const int line = peek().line;
    ExprPtr first = with_condexpr ? parse_expression() : parse_or();
    if (!at_op(",")) return first;
    ListExpr tuple;
    tuple.tuple = true;
    tuple.items.push_back(std::move(first));
    while (skip_op(",")) {
      if (peek().kind == TokenKind::kBlockEnd || peek().kind == TokenKind::kPrintEnd ||
          at_op(")") || at_name("if"))
        break;
      tuple.items.push_back(with_condexpr ? parse_expression() : parse_or());
    }
    return make(std::move(tuple), line);
  }

  ExprPtr parse_expression() {
    ExprPtr e = parse_or();
    while (at_name("if")) {
      const int line = next().line;
      Conditional c;
      c.then = std::move(e);
      c.condition = parse_or();
      if (skip_name("else")) c.otherwise = parse_expression();
      e = make(std::move(c), line);
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (at_name("or")) {
      const int line = next().line;
      left = make(Binary{BinaryOp::kOr, std::move(left), parse_and()}, line);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (at_name("and")) {
      const int line = next().line;
      left = make(Binary{BinaryOp::kAnd, std::move(left), parse_not()}, line);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (at_name("not")) {
      const int line = next().line;
      return make(Unary{UnaryOp::kNot, parse_not()}, line);
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const int line = peek().line;
    ExprPtr first = parse_math1();
    Compare c;
    while (true) {
      CompareOp op;
      if (at_op("==")) {
        op = CompareOp::kEq;
      } else if (at_op("!=")) {
        op = CompareOp::kNe;
      } else if (at_op("<")) {
        op = CompareOp::kLt;
      } else if (at_op("<=")) {
        op = CompareOp::kLe;
      } else if (at_op(">")) {
        op = CompareOp::kGt;
      } else if (at_op(">=")) {
        op = CompareOp::kGe;
      } else if (at_name("in")) {
        op = CompareOp::kIn;
      } else if (at_name("not") && at_name("in", 1)) {
        next();
        op = CompareOp::kNotIn;
      } else {
        break;
      }
      next();
      c.rest.emplace_back(op, parse_math1());
    }
    if (c.rest.empty()) return first;
    c.first = std::move(first);
    return make(std::move(c), line);
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (at_op("+") || at_op("-")) {
      const Token& op = next();
      left = make(
          Binary{op.text == "+" ? BinaryOp::kAdd : BinaryOp::kSub, std::move(left), parse_concat()},
          op.line);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (at_op("~")) {
      const int line = next().line;
      left = make(Binary{BinaryOp::kConcat, std::move(left), parse_math2()}, line);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const Token& op = next();
      const BinaryOp kind = op.text == "*"    ? BinaryOp::kMul
                            : op.text == "/"  ? BinaryOp::kDiv
                            : op.text == "//" ? BinaryOp::kFloorDiv
                                              : BinaryOp::kMod;
      left = make(Binary{kind, std::move(left), parse_pow()}, op.line);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (at_op("**")) {
      const int line = next().line;
      left = make(Binary{BinaryOp::kPow, std::move(left), parse_unary(true)}, line);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    const int line = peek().line;
    ExprPtr e;
    if (at_op("-") || at_op("+")) {
      const bool negate = next().text == "-";
      e = make(Unary{negate ? UnaryOp::kNegate : UnaryOp::kPlus, parse_unary(false)}, line);
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    const int line = t.line;
    switch (t.kind) {
      case TokenKind::kName: {
        next();
        if (t.text == "true" || t.text == "True") return make(Literal{Value(true)}, line);
        if (t.text == "false" || t.text == "False") return make(Literal{Value(false)}, line);
        if (t.text == "none" || t.text == "None") return make(Literal{Value(nullptr)}, line);
        return make(Name{t.text}, line);
      }
      case TokenKind::kString: {
        std::string s;
        while (peek().kind == TokenKind::kString) s += next().text;
        return make(Literal{Value(std::move(s))}, line);
      }
      case TokenKind::kInteger: {
        next();
        try {
          return make(Literal{Value(static_cast<int64_t>(std::stoll(t.text)))}, line);
        } catch (const std::out_of_range&) {
          fail_at(line, "integer literal " + t.text + " is out of the 64-bit range");
        }
      }
      case TokenKind::kFloat:
        next();
        return make(Literal{Value(std::stod(t.text))}, line);
      case TokenKind::kOperator:
        if (t.text == "(") {
          next();
          if (skip_op(")")) return make(ListExpr{{}, true}, line);
          ExprPtr e = parse_tuple();
          expect_op(")");
          return e;
        }
        if (t.text == "[") {
          next();
          ListExpr list;
          while (!at_op("]")) {
            list.items.push_back(parse_expression());
            if (!skip_op(",")) break;
          }
          expect_op("]");
          return make(std::move(list), line);
        }
        if (t.text == "{") {
          next();
          DictExpr dict;
          while (!at_op("}")) {
            ExprPtr key = parse_expression();
            expect_op(":");
            dict.items.emplace_back(std::move(key), parse_expression());
            if (!skip_op(",")) break;
          }
          expect_op("}");
          return make(std::move(dict), line);
        }
        break;
      default:
        break;
    }
    fail("an expression");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      const int line = peek().line;
      if (skip_op(".")) {
        if (peek().kind == TokenKind::kInteger) {
          ExprPtr index = make(Literal{Value(static_cast<int64_t>(std::stoll(next().text)))}, line);
          e = make(Subscript{std::move(e), std::move(index)}, line);
        } else {
          e = make(Attribute{std::move(e), expect_name("an attribute name")}, line);
        }
      } else if (skip_op("[")) {
        e = parse_subscript(std::move(e), line);
      } else if (at_op("(")) {
        e = make(Call{std::move(e), parse_call_args()}, line);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr object, int line) {
    ExprPtr parts[3];
    int part = 0;
    bool slice = false;
    while (true) {
      if (at_op(":")) {
        next();
        slice = true;
        if (++part > 2) fail("']'");
        continue;
      }
      if (at_op("]")) break;
      if (parts[part]) fail("':' or ']'");
      parts[part] = parse_expression();
    }
    expect_op("]");
    if (!slice) {
      if (!parts[0]) fail_at(line, "expected an index inside '[]', found none");
      return make(Subscript{std::move(object), std::move(parts[0])}, line);
    }
    return make(
        SliceExpr{std::move(object), std::move(parts[0]), std::move(parts[1]), std::move(parts[2])},
        line);
  }

  CallArgs parse_call_args() {
    expect_op("(");
    CallArgs args;
    while (!at_op(")")) {
      if (at_op("*") || at_op("**")) fail_at(peek().line, "*args and **kwargs are not supported");
      if (peek().kind == TokenKind::kName && at_op("=", 1)) {
        std::string key = next().text;
        next();
        args.keyword.emplace_back(std::move(key), parse_expression());
      } else {
        if (!args.keyword.empty()) fail("a keyword argument after keyword arguments");
        args.positional.push_back(parse_expression());
      }
      if (!skip_op(",")) break;
    }
    expect_op(")");
    return args;
  }

  // | filter and `is` test chains after a unary expression.
  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (skip_op("|")) {
        e = parse_filter(std::move(e));
      } else if (at_name("is")) {
        e = parse_test(std::move(e));
      } else if (at_op("(")) {
        const int line = peek().line;
        e = make(Call{std::move(e), parse_call_args()}, line);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_filter(ExprPtr operand) {
    const int line = peek().line;
    std::string name = expect_name("a filter name");
    while (skip_op(".")) name += "." + expect_name("a filter name");
    FilterExpr f;
    f.operand = std::move(operand);
    f.name = std::move(name);
    if (at_op("(")) f.args = parse_call_args();
    return make(std::move(f), line);
  }

  ExprPtr parse_test(ExprPtr operand) {
    const int line = next().line;  // is
    TestExpr t;
    t.operand = std::move(operand);
    t.negated = skip_name("not");
    t.name = expect_name("a test name");
    while (skip_op(".")) t.name += "." + expect_name("a test name");
    const Token& a = peek();
    if (at_op("(")) {
      t.args = parse_call_args();
    } else if ((a.kind == TokenKind::kName || a.kind == TokenKind::kString ||
                a.kind == TokenKind::kInteger || a.kind == TokenKind::kFloat || at_op("[") ||
                at_op("{")) &&
               !at_name("else") && !at_name("or") && !at_name("and")) {
      if (at_name("is")) fail_at(a.line, "tests cannot be chained with 'is'");
      t.args.positional.push_back(parse_postfix(parse_primary()));
    }
    return make(std::move(t), line);
  }

  const std::vector<Token>& t_;
  std::string name_;
  size_t i_ = 0;
};

// jinja2 rejects an unknown filter or test when it compiles the template, except in a "soft"
// frame (the condition and bodies of an if, a conditional expression), where the error waits
// until the code runs; a loop, macro or block body inside starts a hard frame again.
class NameCheck {
 public:
  explicit NameCheck(std::string_view name) : name_(name) {}

  void body(const Body& b, bool soft) {
    for (const Stmt& s : b) std::visit([&](const auto& node) { statement(node, soft); }, s.node);
  }

 private:
  void statement(const TextStmt&, bool) {}
  void statement(const PrintStmt& s, bool soft) { expr(*s.expr, soft); }
  void statement(const IfStmt& s, bool) {
    for (const auto& [condition, branch] : s.branches) {
      expr(*condition, true);
      body(branch, true);
    }
    body(s.otherwise, true);
  }
  void statement(const ForStmt& s, bool soft) {
    expr(*s.iterable, soft);
    if (s.condition) expr(*s.condition, false);
    body(s.body, false);
    body(s.otherwise, soft);
  }
  void statement(const SetStmt& s, bool soft) { expr(*s.value, soft); }
  void statement(const SetBlockStmt& s, bool soft) {
    for (const ExprPtr& f : s.filters) expr(*f, soft);
    body(s.body, false);
  }
  void statement(const MacroStmt& s, bool) {
    for (const auto& [param, fallback] : s.params) {
      if (fallback) expr(*fallback, false);
    }
    body(*s.body, false);
  }
  void statement(const FilterBlockStmt& s, bool soft) {
    for (const ExprPtr& f : s.filters) expr(*f, soft);
    body(s.body, false);
  }
  void statement(const BreakStmt&, bool) {}
  void statement(const ContinueStmt&, bool) {}

  void expr(const Expr& e, bool soft) {
    std::visit([&](const auto& node) { expression(node, e.line, soft); }, e.node);
  }
  void maybe(const ExprPtr& e, bool soft) {
    if (e) expr(*e, soft);
  }
  void args(const CallArgs& a, bool soft) {
    for (const ExprPtr& p : a.positional) expr(*p, soft);
    for (const auto& [key, value] : a.keyword) expr(*value, soft);
  }
  void expression(const Literal&, int, bool) {}
  void expression(const Name&, int, bool) {}
  void expression(const ListExpr& n, int, bool soft) {
    for (const ExprPtr& item : n.items) expr(*item, soft);
  }
  void expression(const DictExpr& n, int, bool soft) {
    for (const auto& [key, value] : n.items) {
      expr(*key, soft);
      expr(*value, soft);
    }
  }
  void expression(const Attribute& n, int, bool soft) { expr(*n.object, soft); }
  void expression(const Subscript& n, int, bool soft) {
    expr(*n.object, soft);
    expr(*n.index, soft);
  }
  void expression(const SliceExpr& n, int, bool soft) {
    expr(*n.object, soft);
    maybe(n.start, soft);
    maybe(n.stop, soft);
    maybe(n.step, soft);
  }
  void expression(const Call& n, int, bool soft) {
    expr(*n.callee, soft);
    args(n.args, soft);
  }
  void expression(const FilterExpr& n, int line, bool soft) {
    if (!soft && !is_filter(n.name)) {
      throw ParseError(
          fmt::format("template '{}': line {}: no filter named '{}'", name_, line, n.name));
    }
    maybe(n.operand, soft);
    args(n.args, soft);
  }
  void expression(const TestExpr& n, int line, bool soft) {
    if (!soft && !is_test(n.name)) {
      throw ParseError(
          fmt::format("template '{}': line {}: no test named '{}'", name_, line, n.name));
    }
    expr(*n.operand, soft);
    args(n.args, soft);
  }
  void expression(const Unary& n, int, bool soft) { expr(*n.operand, soft); }
  void expression(const Binary& n, int, bool soft) {
    expr(*n.left, soft);
    expr(*n.right, soft);
  }
  void expression(const Compare& n, int, bool soft) {
    expr(*n.first, soft);
    for (const auto& [op, operand] : n.rest) expr(*operand, soft);
  }
  void expression(const Conditional& n, int, bool) {
    expr(*n.condition, true);
    expr(*n.then, true);
    maybe(n.otherwise, true);
  }

  std::string name_;
};

}  // namespace

Result<Body> parse(const std::vector<Token>& tokens, std::string_view name) {
  try {
    Body body = Parser(tokens, name).parse_template();
    NameCheck(name).body(body, false);
    return body;
  } catch (const ParseError& e) {
    return Error(e.what());
  }
}

}  // namespace sherry::jinja
