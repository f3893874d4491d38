#include "ir/interpreter.h"

#include <algorithm>
#include <array>
#include <cstdlib>

#include "ir/tables.h"

namespace sherry::ir {
namespace {

class Interpreter {
 public:
  Interpreter(const Program& program, const PackedTensorView& w, const QuantizedActivations& x)
      : p_(program), s_(program.shape), w_(w), x_(x), tokens_(x.tokens) {
    const auto tokens = static_cast<size_t>(tokens_);
    const auto rows = static_cast<size_t>(s_.row_tile);
    permuted_.assign(tokens, std::vector<int8_t>(static_cast<size_t>(s_.k_pad)));
    tables_.assign(tokens, {});
    tau_.assign(tokens, {});
    acc16_.assign(tokens, std::vector<int16_t>(rows));
    acc32_.assign(tokens, std::vector<int32_t>(rows));
    y_.assign(tokens, std::vector<float>(rows));
    sums_.assign(tokens, std::vector<int32_t>(static_cast<size_t>(s_.groups)));
    result_.acc.assign(static_cast<size_t>(tokens_ * s_.m * s_.groups), 0);
    if (program.key.output == OutputMode::kFloat) {
      result_.y.assign(static_cast<size_t>(tokens_ * s_.m), 0.0f);
    }
  }

  InterpreterResult run() {
    exec(p_.body);
    return std::move(result_);
  }

 private:
  int64_t index(LoopKind kind) const { return index_[static_cast<size_t>(kind)]; }
  int64_t token() const { return index(LoopKind::kToken); }
  int64_t row(int64_t r) const { return index(LoopKind::kTile) * s_.row_tile + r; }
  int64_t group() const { return index(LoopKind::kGroup); }

  void exec(const Body& body) {
    for (const Stmt& stmt : body) std::visit([&](const auto& node) { exec(node); }, stmt);
  }

  void exec(const Loop& loop) {
    int64_t& i = index_[static_cast<size_t>(loop.kind)];
    // A call's tokens: n_tile, or fewer for a dot program.
    const int64_t extent = loop.kind == LoopKind::kToken ? tokens_ : loop.extent;
    for (i = 0; i < extent; ++i) exec(loop.body);
  }
  void exec(const SumActivations&) {
    const int64_t per_group = s_.k_pad / s_.groups;
    const std::vector<int8_t>& q = permuted_[token()];
    for (int64_t g = 0; g < s_.groups; ++g) {
      int32_t sum = 0;
      for (int64_t k = g * per_group; k < (g + 1) * per_group; ++k) sum += q[k];
      sums_[token()][g] = sum;
    }
  }
  void exec(const DecodeWeights&) {
    // Padding rows and blocks hold code 0: their products meet zero activations or land in
    // rows no one reads, as in the lookup programs.
    const int64_t real_blocks = s_.k / kWeightsPerBlock;
    decoded_.assign(static_cast<size_t>(s_.row_tile), std::vector<uint8_t>(s_.k_pad));
    for (int64_t r = 0; r < s_.row_tile; ++r) {
      for (int64_t b = 0; b < s_.k_pad / kWeightsPerBlock; ++b) {
        const uint8_t code = row(r) < s_.m && b < real_blocks ? w_.code(row(r), b) : 0;
        for (int p = 0; p < kWeightsPerBlock; ++p) {
          decoded_[r][b * kWeightsPerBlock + p] =
              static_cast<uint8_t>(code_lane_value(code, p) + 1);
        }
      }
    }
  }
  void exec(const DotAccumulate&) {
    const int64_t t = token();
    const int64_t step =
        (group() * s_.chunks_per_group + index(LoopKind::kChunk)) * s_.steps_per_chunk +
        index(LoopKind::kStep);
    const int64_t first = step * s_.blocks_per_step * kWeightsPerBlock;
    const int64_t last = first + s_.blocks_per_step * kWeightsPerBlock;
    for (int64_t r = 0; r < s_.row_tile; ++r) {
      int32_t sum = 0;
      for (int64_t k = first; k < last; ++k) sum += decoded_[r][k] * permuted_[t][k];
      acc32_[t][r] += sum;
    }
  }
  void exec(const PermuteActivations& node) {
    permute_to_block_order(node.grouping, x_.token(token()), s_.k, s_.k_pad,
                           permuted_[token()].data());
  }
  void exec(const BuildTables& node) {
    // Sign after lookup stores only the sign-0 half; folded stores all 32 codes.
    const int codes = node.mode == LookupMode::kSignFolded ? kCodeCount : kSlotCount;
    auto& table = tables_[token()];
    table.assign(static_cast<size_t>(s_.k_pad / kWeightsPerBlock), {});
    for (size_t b = 0; b < table.size(); ++b) {
      for (int c = 0; c < codes; ++c) {
        table[b][c] = table_entry(&permuted_[token()][b * kWeightsPerBlock], c);
      }
    }
    if (p_.key.table != TablePrecision::kInt8Lossy) return;
    // Requantize per scale group (ir/tables.h); entries stay in the int16 array.
    auto& taus = tau_[token()];
    taus.assign(static_cast<size_t>(s_.groups), 0.0f);
    const int64_t per_group = s_.blocks_per_group();
    for (int64_t g = 0; g < s_.groups; ++g) {
      int32_t max_abs = 0;
      for (int64_t b = g * per_group; b < (g + 1) * per_group; ++b) {
        for (int c = 0; c < codes; ++c) max_abs = std::max<int32_t>(max_abs, std::abs(table[b][c]));
      }
      const Int8TableScale scale = int8_table_scale(max_abs);
      taus[g] = scale.tau;
      result_.tau.resize(static_cast<size_t>(tokens_ * s_.groups));
      result_.tau[token() * s_.groups + g] = scale.tau;
      for (int64_t b = g * per_group; b < (g + 1) * per_group; ++b) {
        for (int c = 0; c < codes; ++c) table[b][c] = requantize_entry(table[b][c], scale);
      }
    }
  }
  void exec(const ZeroOutput&) {
    for (auto& y : y_) std::fill(y.begin(), y.end(), 0.0f);
  }
  void exec(const InitAccumulators& node) {
    for (auto& a : acc16_) std::fill(a.begin(), a.end(), int16_t{0});
    for (size_t t = 0; t < acc32_.size(); ++t) {
      const int32_t start = node.value == AccInit::kMinusActivationSums ? -sums_[t][group()] : 0;
      std::fill(acc32_[t].begin(), acc32_[t].end(), start);
    }
  }
  void exec(const LookupAccumulate& node) {
    const int64_t t = token();
    const int64_t step =
        (group() * s_.chunks_per_group + index(LoopKind::kChunk)) * s_.steps_per_chunk +
        index(LoopKind::kStep);
    const int64_t real_blocks = s_.k / kWeightsPerBlock;
    for (int64_t r = 0; r < s_.row_tile; ++r) {
      for (int64_t j = 0; j < s_.blocks_per_step; ++j) {
        const int64_t block = step * s_.blocks_per_step + j;
        // Padding rows and blocks hold code 0 against zero activations or unused outputs.
        const uint8_t code = row(r) < s_.m && block < real_blocks ? w_.code(row(r), block) : 0;
        int32_t value;
        if (node.mode == LookupMode::kSignFolded) {
          value = tables_[t][block][code];
        } else {
          value = tables_[t][block][code_slot(code)];
          if (code_sign(code)) value = -value;
        }
        if (node.width == AccWidth::kI16) {
          acc16_[t][r] = static_cast<int16_t>(acc16_[t][r] + value);  // wraps like a lane
        } else {
          acc32_[t][r] += value;
        }
      }
    }
  }
  void exec(const Widen&) {
    for (int64_t t = 0; t < tokens_; ++t) {
      for (int64_t r = 0; r < s_.row_tile; ++r) {
        acc32_[t][r] += acc16_[t][r];
        acc16_[t][r] = 0;
      }
    }
  }
  void record_accumulators() {
    for (int64_t t = 0; t < tokens_; ++t) {
      for (int64_t r = 0; r < s_.row_tile && row(r) < s_.m; ++r) {
        result_.acc[(t * s_.m + row(r)) * s_.groups + group()] = acc32_[t][r];
      }
    }
  }
  void exec(const ScaleGroup&) {
    record_accumulators();
    for (int64_t t = 0; t < tokens_; ++t) {
      for (int64_t r = 0; r < s_.row_tile && row(r) < s_.m; ++r) {
        if (p_.key.table == TablePrecision::kInt8Lossy) {
          const float term = static_cast<float>(acc32_[t][r]) * tau_[t][group()];
          y_[t][r] += term * w_.scale(row(r), group());
        } else {
          y_[t][r] += static_cast<float>(acc32_[t][r]) * w_.scale(row(r), group());
        }
      }
    }
  }
  void exec(const StoreAccumulators&) { record_accumulators(); }
  void exec(const Finish&) {
    for (int64_t t = 0; t < tokens_; ++t) {
      for (int64_t r = 0; r < s_.row_tile && row(r) < s_.m; ++r) {
        result_.y[t * s_.m + row(r)] = x_.scales[t] * y_[t][r];
      }
    }
  }

  const Program& p_;
  const ProgramShape& s_;
  const PackedTensorView& w_;
  const QuantizedActivations& x_;
  const int64_t tokens_;  // of this call: n_tile, or 1 .. n_tile for a dot program
  std::array<int64_t, 5> index_{};
  std::vector<std::vector<int8_t>> permuted_;                         // [token][k_pad]
  std::vector<std::vector<std::array<int16_t, kCodeCount>>> tables_;  // [token][block][code]
  std::vector<std::vector<float>> tau_;      // [token][group]: int8 table scales
  std::vector<std::vector<int16_t>> acc16_;  // [token][row in tile]
  std::vector<std::vector<int32_t>> acc32_;
  std::vector<std::vector<float>> y_;
  std::vector<std::vector<int32_t>> sums_;     // [token][group]: Σ q' (dot programs)
  std::vector<std::vector<uint8_t>> decoded_;  // [row in tile][k_pad]: w = t + 1 (dot programs)
  InterpreterResult result_;
};

}  // namespace

Result<InterpreterResult> interpret(const Program& program, const PackedTensorView& w,
                                    const QuantizedActivations& x) {
  const KernelKey& key = program.key;
  if (w.rows != key.m || w.cols != key.k || !(w.layout == key.layout)) {
    return make_error(
        "{}: weights are {} x {} ({} grouping, {} scales), the kernel expects {} x {}",
        program.name, w.rows, w.cols, to_string(w.layout.grouping), to_string(w.layout.granularity),
        key.m, key.k);
  }
  const bool dot = key.op == KernelOp::kDotGemm;
  if (x.cols != key.k || (dot ? x.tokens < 1 || x.tokens > key.n_tile : x.tokens != key.n_tile)) {
    return make_error("{}: activations are {} tokens x {} cols, the kernel expects {}{} x {}",
                      program.name, x.tokens, x.cols, dot ? "1 .. " : "", key.n_tile, key.k);
  }
  return Interpreter(program, w, x).run();
}

}  // namespace sherry::ir
