// The parsed template: plain expression and statement structs in std::variants (visited without a
// catch-all, so a new node breaks the build wherever it must be handled). Each node keeps its
// line for error messages.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/jinja/value.h"

namespace sherry::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct CallArgs {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
};

struct Literal {
  Value value;
};
struct Name {
  std::string name;
};
struct ListExpr {
  std::vector<ExprPtr> items;
  bool tuple = false;
};
struct DictExpr {
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
};
struct Attribute {  // object.name
  ExprPtr object;
  std::string name;
};
struct Subscript {  // object[index]
  ExprPtr object;
  ExprPtr index;
};
struct SliceExpr {  // object[start:stop:step], each part optional
  ExprPtr object;
  ExprPtr start, stop, step;
};
struct Call {
  ExprPtr callee;
  CallArgs args;
};
struct FilterExpr {  // operand | name(args)
  ExprPtr operand;
  std::string name;
  CallArgs args;
};
struct TestExpr {  // operand is [not] name(args)
  ExprPtr operand;
  std::string name;
  CallArgs args;
  bool negated = false;
};
enum class UnaryOp : uint8_t { kNot, kNegate, kPlus };
struct Unary {
  UnaryOp op;
  ExprPtr operand;
};
enum class BinaryOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kFloorDiv,
  kMod,
  kPow,
  kConcat,  // ~
  kAnd,
  kOr,
};
struct Binary {
  BinaryOp op;
  ExprPtr left, right;
};
enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };
struct Compare {  // a < b <= c, chained as in Python
  ExprPtr first;
  std::vector<std::pair<CompareOp, ExprPtr>> rest;
};
struct Conditional {  // then if condition else otherwise (otherwise optional: undefined)
  ExprPtr condition, then, otherwise;
};

struct Expr {
  std::variant<Literal, Name, ListExpr, DictExpr, Attribute, Subscript, SliceExpr, Call, FilterExpr,
               TestExpr, Unary, Binary, Compare, Conditional>
      node;
  int line = 0;
};

struct Stmt;
using Body = std::vector<Stmt>;

struct TextStmt {
  std::string text;
};
struct PrintStmt {
  ExprPtr expr;
};
struct IfStmt {
  std::vector<std::pair<ExprPtr, Body>> branches;  // if, elif...
  Body otherwise;
};
struct ForStmt {
  std::vector<std::string> targets;  // one name, or several unpacked
  ExprPtr iterable;
  ExprPtr condition;  // `for x in xs if cond`, may be null
  Body body;
  Body otherwise;  // when nothing was iterated
};
struct SetStmt {
  std::vector<std::string> targets;  // one name, or several unpacked
  std::string attribute;             // set ns.attribute = …: targets holds ns
  ExprPtr value;
};
struct SetBlockStmt {  // {% set name | filters %}body{% endset %}
  std::string target;
  std::vector<ExprPtr> filters;  // FilterExpr with a null operand, applied in order
  Body body;
};
struct MacroStmt {
  std::string name;
  std::vector<std::pair<std::string, ExprPtr>> params;  // default may be null
  std::shared_ptr<Body> body;
};
struct FilterBlockStmt {  // {% filter name(args) | … %}body{% endfilter %}
  std::vector<ExprPtr> filters;
  Body body;
};
struct BreakStmt {};
struct ContinueStmt {};

struct Stmt {
  std::variant<TextStmt, PrintStmt, IfStmt, ForStmt, SetStmt, SetBlockStmt, MacroStmt,
               FilterBlockStmt, BreakStmt, ContinueStmt>
      node;
  int line = 0;
};

}  // namespace sherry::jinja
