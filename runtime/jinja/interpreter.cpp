#include "runtime/jinja/interpreter.h"

#include <fmt/format.h>

#include "runtime/jinja/builtins.h"
#include "runtime/jinja/operations.h"

namespace sherry::jinja {
namespace {

struct Scope {
  std::shared_ptr<Scope> parent;
  std::vector<std::pair<std::string, Value>> vars;

  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s != nullptr; s = s->parent.get()) {
      for (const auto& [key, value] : s->vars) {
        if (key == name) return &value;
      }
    }
    return nullptr;
  }
  void set(const std::string& name, Value value) {
    for (auto& [key, v] : vars) {
      if (key == name) {
        v = std::move(value);
        return;
      }
    }
    vars.emplace_back(name, std::move(value));
  }
};

enum class Flow : uint8_t { kNormal, kBreak, kContinue };

// Macro calls nest at most this deep (a recursive macro without an end).
constexpr int kMaxMacroDepth = 200;

class Interpreter {
 public:
  Interpreter(const Value& globals, const Value& variables)
      : globals_(globals), root_(std::make_shared<Scope>()) {
    for (const auto& [key, value] : variables.as_dict().items) root_->set(key.str(), value);
    scope_ = root_;
  }

  std::string run(const Body& body) {
    std::string out;
    try {
      exec(body, out);
    } catch (const RenderError& e) {
      throw RenderError(fmt::format("line {}: {}", line_, e.what()));
    }
    return out;
  }

 private:
  // Runs `body` in a child scope of `parent`, restoring the current scope afterwards.
  class ScopeGuard {
   public:
    ScopeGuard(Interpreter& in, std::shared_ptr<Scope> parent) : in_(in), saved_(in.scope_) {
      auto scope = std::make_shared<Scope>();
      scope->parent = std::move(parent);
      in_.scope_ = std::move(scope);
    }
    ~ScopeGuard() { in_.scope_ = saved_; }
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;

   private:
    Interpreter& in_;
    std::shared_ptr<Scope> saved_;
  };

  Flow exec(const Body& body, std::string& out) {
    for (const Stmt& s : body) {
      const Flow flow = exec(s, out);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  Flow exec(const Stmt& stmt, std::string& out) {
    line_ = stmt.line;
    return std::visit([&](const auto& s) { return run_statement(s, out); }, stmt.node);
  }

  Flow run_statement(const TextStmt& s, std::string& out) {
    out += s.text;
    return Flow::kNormal;
  }
  Flow run_statement(const PrintStmt& s, std::string& out) {
    out += eval(*s.expr).str();
    return Flow::kNormal;
  }
  Flow run_statement(const IfStmt& s, std::string& out) {
    for (const auto& [condition, body] : s.branches) {
      if (eval(*condition).truthy()) return exec(body, out);
    }
    return exec(s.otherwise, out);
  }
  Flow run_statement(const ForStmt& s, std::string& out) {
    const std::vector<Value> all = iterate(eval(*s.iterable));
    std::vector<Value> items;
    if (s.condition) {
      for (const Value& item : all) {
        ScopeGuard guard(*this, scope_);
        bind(s.targets, item);
        if (eval(*s.condition).truthy()) items.push_back(item);
      }
    } else {
      items = all;
    }
    if (items.empty()) return exec(s.otherwise, out);
    const auto n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      ScopeGuard guard(*this, scope_);
      bind(s.targets, items[static_cast<size_t>(i)]);
      scope_->set("loop", loop_object(items, i));
      const Flow flow = exec(s.body, out);
      if (flow == Flow::kBreak) break;
    }
    return Flow::kNormal;
  }
  Flow run_statement(const SetStmt& s, std::string&) {
    Value value = eval(*s.value);
    if (!s.attribute.empty()) {
      const Value* target = scope_->find(s.targets[0]);
      if (target == nullptr || !target->is_namespace()) {
        throw RenderError("cannot assign attribute on non-namespace object");
      }
      target->as_dict().set(Value(s.attribute), std::move(value));
      return Flow::kNormal;
    }
    bind(s.targets, value);
    return Flow::kNormal;
  }
  Flow run_statement(const SetBlockStmt& s, std::string&) {
    std::string text;
    exec(s.body, text);
    scope_->set(s.target, apply_filters(s.filters, Value(std::move(text))));
    return Flow::kNormal;
  }
  Flow run_statement(const MacroStmt& s, std::string&) {
    std::weak_ptr<Scope> closure = scope_;
    const MacroStmt* macro = &s;
    scope_->set(s.name, Value::function(s.name, [this, macro, closure](Arguments& args) {
                  return call_macro(*macro, closure.lock(), args);
                }));
    return Flow::kNormal;
  }
  Flow run_statement(const FilterBlockStmt& s, std::string& out) {
    std::string text;
    exec(s.body, text);
    out += apply_filters(s.filters, Value(std::move(text))).str();
    return Flow::kNormal;
  }
  Flow run_statement(const BreakStmt&, std::string&) { return Flow::kBreak; }
  Flow run_statement(const ContinueStmt&, std::string&) { return Flow::kContinue; }

  Value call_macro(const MacroStmt& m, std::shared_ptr<Scope> closure, Arguments& args) {
    if (args.positional.size() > m.params.size()) {
      throw RenderError(
          fmt::format("macro '{}' takes not more than {} argument(s)", m.name, m.params.size()));
    }
    for (const auto& [key, value] : args.keyword) {
      bool known = false;
      for (const auto& param : m.params) known = known || param.first == key;
      if (!known)
        throw RenderError(fmt::format("macro '{}' takes no keyword argument '{}'", m.name, key));
    }
    if (++depth_ > kMaxMacroDepth) {
      --depth_;
      throw RenderError("maximum recursion depth exceeded in macro calls");
    }
    const int saved_line = line_;
    std::string out;
    {
      ScopeGuard guard(*this, closure ? closure : root_);
      for (size_t i = 0; i < m.params.size(); ++i) {
        const auto& [name, fallback] = m.params[i];
        Value v = args.get(i, name);
        if (v.is_undefined() && fallback) v = eval(*fallback);
        if (v.is_undefined()) v = Value::undefined(fmt::format("'{}' is undefined", name));
        scope_->set(name, std::move(v));
      }
      exec(*m.body, out);
    }
    --depth_;
    line_ = saved_line;
    return Value(std::move(out));
  }

  // Binds one name, or unpacks `value` into several.
  void bind(const std::vector<std::string>& targets, const Value& value) {
    if (targets.size() == 1) {
      scope_->set(targets[0], value);
      return;
    }
    const std::vector<Value> parts = iterate(value);
    if (parts.size() != targets.size()) {
      throw RenderError(fmt::format("{} values to unpack (expected {}, got {})",
                                    parts.size() < targets.size() ? "not enough" : "too many",
                                    targets.size(), parts.size()));
    }
    for (size_t i = 0; i < targets.size(); ++i) scope_->set(targets[i], parts[i]);
  }

  static Value loop_object(const std::vector<Value>& items, int64_t i) {
    const auto n = static_cast<int64_t>(items.size());
    Value loop = Value::namespace_object();
    Dict& d = loop.as_dict();
    d.set(Value("index"), Value(i + 1));
    d.set(Value("index0"), Value(i));
    d.set(Value("revindex"), Value(n - i));
    d.set(Value("revindex0"), Value(n - i - 1));
    d.set(Value("first"), Value(i == 0));
    d.set(Value("last"), Value(i == n - 1));
    d.set(Value("length"), Value(n));
    d.set(Value("depth"), Value(1));
    d.set(Value("depth0"), Value(0));
    d.set(Value("previtem"), i > 0 ? items[static_cast<size_t>(i - 1)]
                                   : Value::undefined("there is no previous item"));
    d.set(Value("nextitem"), i + 1 < n ? items[static_cast<size_t>(i + 1)]
                                       : Value::undefined("there is no next item"));
    d.set(Value("cycle"), Value::function("loop.cycle", [i](Arguments& a) {
            if (a.positional.empty()) throw RenderError("no items for cycling given");
            return a.positional[static_cast<size_t>(i) % a.positional.size()];
          }));
    return loop;
  }

  Value apply_filters(const std::vector<ExprPtr>& filters, Value value) {
    for (const ExprPtr& f : filters) {
      const auto& filter = std::get<FilterExpr>(f->node);
      value = apply_filter(filter.name, value, eval_args(filter.args));
    }
    return value;
  }

  Arguments eval_args(const CallArgs& args) {
    Arguments a;
    for (const ExprPtr& e : args.positional) a.positional.push_back(eval(*e));
    for (const auto& [key, e] : args.keyword) a.keyword.emplace_back(key, eval(*e));
    return a;
  }

  Value eval(const Expr& e) {
    line_ = e.line;
    return std::visit([&](const auto& node) { return evaluate(node); }, e.node);
  }

  Value evaluate(const Literal& n) { return n.value; }
  Value evaluate(const Name& n) {
    if (const Value* v = scope_->find(n.name)) return *v;
    if (const Value* v = globals_.as_dict().find(Value(n.name))) return *v;
    return Value::undefined(fmt::format("'{}' is undefined", n.name));
  }
  Value evaluate(const ListExpr& n) {
    std::vector<Value> items;
    for (const ExprPtr& item : n.items) items.push_back(eval(*item));
    return Value::list(std::move(items), n.tuple);
  }
  Value evaluate(const DictExpr& n) {
    Value d = Value::dict();
    for (const auto& [key, value] : n.items) {
      Value k = eval(*key);
      d.as_dict().set(k, eval(*value));
    }
    return d;
  }
  Value evaluate(const Attribute& n) { return get_attribute(eval(*n.object), n.name); }
  Value evaluate(const Subscript& n) {
    Value object = eval(*n.object);
    return get_item(object, eval(*n.index));
  }
  Value evaluate(const SliceExpr& n) {
    Value object = eval(*n.object);
    auto part = [&](const ExprPtr& p) { return p ? eval(*p) : Value(); };
    Value start = part(n.start);
    Value stop = part(n.stop);
    return get_slice(object, start, stop, part(n.step));
  }
  Value evaluate(const Call& n) {
    Value callee = eval(*n.callee);
    Arguments args = eval_args(n.args);
    return call(callee, args);
  }
  Value evaluate(const FilterExpr& n) {
    Value operand = eval(*n.operand);
    return apply_filter(n.name, operand, eval_args(n.args));
  }
  Value evaluate(const TestExpr& n) {
    Value operand = eval(*n.operand);
    return Value(apply_test(n.name, operand, eval_args(n.args)) != n.negated);
  }
  Value evaluate(const Unary& n) {
    Value v = eval(*n.operand);
    switch (n.op) {
      case UnaryOp::kNot:
        return Value(!v.truthy());
      case UnaryOp::kNegate:
        if (v.is_float()) return Value(-v.as_number());
        return binary(BinaryOp::kSub, Value(0), v);
      case UnaryOp::kPlus:
        return binary(BinaryOp::kAdd, Value(0), v);
    }
    return v;
  }
  Value evaluate(const Binary& n) {
    if (n.op == BinaryOp::kAnd || n.op == BinaryOp::kOr) {
      Value left = eval(*n.left);
      if (left.truthy() == (n.op == BinaryOp::kOr)) return left;
      return eval(*n.right);
    }
    Value left = eval(*n.left);
    Value right = eval(*n.right);
    return binary(n.op, left, right);
  }
  Value evaluate(const Compare& n) {
    Value left = eval(*n.first);
    for (const auto& [op, operand] : n.rest) {
      Value right = eval(*operand);
      if (!compare(op, left, right)) return Value(false);
      left = std::move(right);
    }
    return Value(true);
  }
  Value evaluate(const Conditional& n) {
    if (eval(*n.condition).truthy()) return eval(*n.then);
    return n.otherwise ? eval(*n.otherwise)
                       : Value::undefined("the conditional expression had no else");
  }

  Value globals_;
  std::shared_ptr<Scope> root_;
  std::shared_ptr<Scope> scope_;
  int line_ = 0;
  int depth_ = 0;
};

}  // namespace

std::string interpret(const Body& body, const Value& globals, const Value& variables) {
  return Interpreter(globals, variables).run(body);
}

}  // namespace sherry::jinja
