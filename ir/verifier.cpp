#include "ir/verifier.h"

#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/ternary_code.h"

namespace sherry::ir {
namespace {

using Path = std::vector<LoopKind>;

std::string path_text(const Path& path) {
  std::string text = "[";
  for (size_t i = 0; i < path.size(); ++i) {
    if (i > 0) text += " ";
    text += to_string(path[i]);
  }
  return text + "]";
}

class Verifier {
 public:
  explicit Verifier(const Program& program)
      : program_(program), s_(program.shape), dot_(program.key.op == KernelOp::kDotGemm) {}

  Status run() {
    SHERRY_TRY(check_shape());
    walk(program_.body);
    if (error_) return *error_;
    SHERRY_TRY(check_counts());
    return Status::success();
  }

 private:
  Status fail(const std::string& message) { return Error(program_.name + ": " + message); }
  void record(const std::string& message) {
    if (!error_) error_ = Error(program_.name + ": " + message);
  }

  Status check_shape() {
    if (s_.row_tile <= 0 || s_.m_pad % s_.row_tile != 0 || s_.m_pad < s_.m ||
        s_.m_pad - s_.m >= s_.row_tile) {
      return fail(
          fmt::format("padded rows {} do not tile {} rows by {}", s_.m_pad, s_.m, s_.row_tile));
    }
    const int64_t step_weights = s_.blocks_per_step * kWeightsPerBlock;
    if (s_.k_pad < s_.k || s_.k_pad % step_weights != 0) {
      return fail(fmt::format("padded cols {} are not whole steps of {} weights covering {}",
                              s_.k_pad, step_weights, s_.k));
    }
    if (s_.groups * s_.blocks_per_group() * kWeightsPerBlock != s_.k_pad) {
      return fail(fmt::format("{} groups x {} blocks do not cover {} padded cols", s_.groups,
                              s_.blocks_per_group(), s_.k_pad));
    }
    if (s_.groups > 1 && s_.k_pad != s_.k) {
      return fail(fmt::format("cols padded from {} to {} across {} scale groups", s_.k, s_.k_pad,
                              s_.groups));
    }
    if (s_.n_tile < 1) return fail(fmt::format("n_tile {} must be positive", s_.n_tile));
    return Status::success();
  }

  int64_t expected_extent(LoopKind kind) const {
    switch (kind) {
      case LoopKind::kToken:
        return s_.n_tile;
      case LoopKind::kTile:
        return s_.tiles();
      case LoopKind::kGroup:
        return s_.groups;
      case LoopKind::kChunk:
        return s_.chunks_per_group;
      case LoopKind::kStep:
        return s_.steps_per_chunk;
    }
    return -1;
  }

  void expect_path(const char* what, const Path& expected) {
    if (path_ != expected) {
      record(fmt::format("{} sits in loops {}, expected {}", what, path_text(path_),
                         path_text(expected)));
    }
    ++counts_[what];
  }

  void walk(const Body& body) {
    for (const Stmt& stmt : body) std::visit([&](const auto& node) { visit(node); }, stmt);
  }

  void visit(const Loop& loop) {
    if (loop.extent != expected_extent(loop.kind)) {
      record(fmt::format("loop {} has extent {}, the shape implies {}", to_string(loop.kind),
                         loop.extent, expected_extent(loop.kind)));
    }
    if (loop.kind == LoopKind::kGroup) check_group_order(loop.body);
    path_.push_back(loop.kind);
    walk(loop.body);
    path_.pop_back();
  }
  void visit(const PermuteActivations& node) {
    expect_path("permute_activations", {LoopKind::kToken});
    if (node.grouping != program_.key.layout.grouping) record("permutation differs from the key");
  }
  void visit(const BuildTables& node) {
    expect_path("build_tables", {LoopKind::kToken});
    table_mode_ = node.mode;
  }
  void visit(const SumActivations&) { expect_path("sum_activations", {LoopKind::kToken}); }
  void visit(const DecodeWeights&) {
    expect_path("decode_weights", {LoopKind::kTile});
    if (counts_["zero_output"] > 0) record("decode_weights after zero_output");
  }
  void visit(const ZeroOutput&) { expect_path("zero_output", {LoopKind::kTile}); }
  void visit(const InitAccumulators& node) {
    expect_path("init_accumulators", {LoopKind::kTile, LoopKind::kGroup});
    const AccInit expected = dot_ ? AccInit::kMinusActivationSums : AccInit::kZero;
    if (node.value != expected) {
      record(fmt::format("accumulators start at {}, a {} program needs {}", to_string(node.value),
                         to_string(program_.key.op), to_string(expected)));
    }
  }
  void visit(const DotAccumulate&) {
    expect_path("dot_accumulate", {LoopKind::kTile, LoopKind::kGroup, LoopKind::kChunk,
                                   LoopKind::kStep, LoopKind::kToken});
    if (counts_["decode_weights"] == 0) record("dot_accumulate before decode_weights");
  }
  void visit(const LookupAccumulate& node) {
    expect_path("lookup_accumulate", {LoopKind::kTile, LoopKind::kGroup, LoopKind::kChunk,
                                      LoopKind::kStep, LoopKind::kToken});
    if (table_mode_ && *table_mode_ != node.mode) {
      record(fmt::format("lookup mode {} but tables built {}", to_string(node.mode),
                         to_string(*table_mode_)));
    }
    if (!table_mode_) record("lookup_accumulate before build_tables");
    lookup_width_ = node.width;
  }
  void visit(const Widen&) {
    expect_path("widen", {LoopKind::kTile, LoopKind::kGroup, LoopKind::kChunk});
  }
  void visit(const ScaleGroup&) { expect_path("scale_group", {LoopKind::kTile, LoopKind::kGroup}); }
  void visit(const StoreAccumulators&) {
    expect_path("store_accumulators", {LoopKind::kTile, LoopKind::kGroup});
  }
  void visit(const Finish&) { expect_path("finish", {LoopKind::kTile}); }

  // In a group: init, then the chunks, then the scaling or the store.
  void check_group_order(const Body& body) {
    int position = 0;
    for (const Stmt& stmt : body) {
      const int rank = std::holds_alternative<InitAccumulators>(stmt) ? 0
                       : std::holds_alternative<Loop>(stmt)           ? 1
                                                                      : 2;
      if (rank < position) record("group body out of order (init, chunks, scale or store)");
      position = rank;
    }
    // Within a chunk the widening comes after the steps.
    for (const Stmt& stmt : body) {
      if (const Loop* chunk = std::get_if<Loop>(&stmt)) {
        bool seen_widen = false;
        for (const Stmt& inner : chunk->body) {
          if (std::holds_alternative<Widen>(inner)) seen_widen = true;
          if (std::holds_alternative<Loop>(inner) && seen_widen) record("widen before the steps");
        }
      }
    }
  }

  Status check_counts() {
    auto count = [&](const char* what) { return counts_.count(what) ? counts_.at(what) : 0; };
    // A lookup program's statements and a dot program's: each needs one of its own and none
    // of the other's.
    const std::vector<const char*> lookup = {"build_tables", "lookup_accumulate"};
    const std::vector<const char*> dot = {"sum_activations", "decode_weights", "dot_accumulate"};
    for (const char* required : {"permute_activations", "zero_output", "init_accumulators"}) {
      if (count(required) != 1) {
        return fail(fmt::format("expected one {}, found {}", required, count(required)));
      }
    }
    for (const char* required : dot_ ? dot : lookup) {
      if (count(required) != 1) {
        return fail(fmt::format("expected one {} in a {} program, found {}", required,
                                to_string(program_.key.op), count(required)));
      }
    }
    for (const char* foreign : dot_ ? lookup : dot) {
      if (count(foreign) != 0) {
        return fail(fmt::format("a {} program has no {}, found {}", to_string(program_.key.op),
                                foreign, count(foreign)));
      }
    }
    const bool floats = program_.key.output == OutputMode::kFloat;
    if (count("scale_group") != (floats ? 1 : 0) || count("finish") != (floats ? 1 : 0) ||
        count("store_accumulators") != (floats ? 0 : 1)) {
      return fail(fmt::format("output mode {} needs {}", to_string(program_.key.output),
                              floats ? "scale_group and finish" : "store_accumulators only"));
    }
    const bool i16 = lookup_width_ == AccWidth::kI16;
    if (count("widen") != (i16 ? 1 : 0)) {
      return fail(fmt::format("{} accumulation with {} widen statements",
                              to_string(lookup_width_.value_or(AccWidth::kI32)), count("widen")));
    }
    const int64_t lookups = s_.steps_per_chunk * s_.blocks_per_step;
    if (i16 && lookups > kMaxI16Lookups) {
      return fail(
          fmt::format("{} int16 lookups of up to {} between widenings can overflow "
                      "(at most {})",
                      lookups, kMaxTableMagnitude, kMaxI16Lookups));
    }
    return Status::success();
  }

  const Program& program_;
  const ProgramShape& s_;
  const bool dot_;  // a dot program (KernelOp::kDotGemm)
  Path path_;
  std::map<std::string, int> counts_;
  std::optional<LookupMode> table_mode_;
  std::optional<AccWidth> lookup_width_;
  std::optional<Error> error_;
};

}  // namespace

Status verify(const Program& program) {
  return Verifier(program).run();
}

}  // namespace sherry::ir
