#include "ir/printer.h"

#include <fmt/format.h>

namespace sherry::ir {
namespace {

class Printer {
 public:
  explicit Printer(const Program& program) : program_(program) {}

  std::string run() {
    const ProgramShape& s = program_.shape;
    out_ += fmt::format("program {}\n", program_.name);
    out_ += fmt::format(
        "  shape: m {} (padded {}) k {} (padded {}) row_tile {} groups {} = {} chunks x {} steps "
        "x {} blocks n_tile {}\n",
        s.m, s.m_pad, s.k, s.k_pad, s.row_tile, s.groups, s.chunks_per_group, s.steps_per_chunk,
        s.blocks_per_step, s.n_tile);
    print_body(program_.body, 1);
    return std::move(out_);
  }

 private:
  void line(int depth, const std::string& text) {
    out_.append(2 * depth, ' ');
    out_ += text;
    out_ += '\n';
  }

  void print_body(const Body& body, int depth) {
    for (const Stmt& stmt : body) {
      std::visit([&](const auto& node) { print(node, depth); }, stmt);
    }
  }

  void print(const Loop& loop, int depth) {
    line(depth, fmt::format("for {} < {}:", to_string(loop.kind), loop.extent));
    print_body(loop.body, depth + 1);
  }
  void print(const PermuteActivations& node, int depth) {
    line(depth, fmt::format("permute_activations {}", to_string(node.grouping)));
  }
  void print(const BuildTables& node, int depth) {
    line(depth,
         fmt::format("build_tables {} {}", to_string(program_.key.table), to_string(node.mode)));
  }
  void print(const SumActivations&, int depth) { line(depth, "sum_activations per group"); }
  void print(const DecodeWeights&, int depth) {
    line(depth, fmt::format("decode_weights w = t + 1 ({} rows x {} cols)", program_.shape.row_tile,
                            program_.shape.k_pad));
  }
  void print(const ZeroOutput&, int depth) { line(depth, "zero_output"); }
  void print(const InitAccumulators& node, int depth) {
    line(depth, node.value == AccInit::kZero
                    ? std::string("init_accumulators")
                    : fmt::format("init_accumulators {}", to_string(node.value)));
  }
  void print(const DotAccumulate&, int depth) {
    line(depth, fmt::format("dot_accumulate i32 ({} rows x {} blocks)", program_.shape.row_tile,
                            program_.shape.blocks_per_step));
  }
  void print(const LookupAccumulate& node, int depth) {
    line(depth, fmt::format("lookup_accumulate {} {} ({} rows x {} blocks)", to_string(node.mode),
                            to_string(node.width), program_.shape.row_tile,
                            program_.shape.blocks_per_step));
  }
  void print(const Widen&, int depth) { line(depth, "widen i16 -> i32"); }
  void print(const ScaleGroup&, int depth) { line(depth, "scale_group y += f32(acc) * alpha"); }
  void print(const StoreAccumulators&, int depth) { line(depth, "store_accumulators"); }
  void print(const Finish&, int depth) { line(depth, "finish y *= activation_scale"); }

  const Program& program_;
  std::string out_;
};

}  // namespace

std::string_view to_string(LoopKind kind) {
  switch (kind) {
    case LoopKind::kToken:
      return "token";
    case LoopKind::kTile:
      return "tile";
    case LoopKind::kGroup:
      return "group";
    case LoopKind::kChunk:
      return "chunk";
    case LoopKind::kStep:
      return "step";
  }
  return "unknown";
}

std::string_view to_string(LookupMode mode) {
  switch (mode) {
    case LookupMode::kSignAfterLookup:
      return "sign_after_lookup";
    case LookupMode::kSignFolded:
      return "sign_folded";
  }
  return "unknown";
}

std::string_view to_string(AccWidth width) {
  switch (width) {
    case AccWidth::kI16:
      return "i16";
    case AccWidth::kI32:
      return "i32";
  }
  return "unknown";
}

std::string_view to_string(AccInit init) {
  switch (init) {
    case AccInit::kZero:
      return "zero";
    case AccInit::kMinusActivationSums:
      return "minus_activation_sums";
  }
  return "unknown";
}

std::string print_program(const Program& program) {
  return Printer(program).run();
}

}  // namespace sherry::ir
