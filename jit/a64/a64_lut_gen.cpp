#include "jit/a64/a64_lut_gen.h"

#include <array>
#include <string>
#include <variant>

#include "jit/a64/a64_generator.h"
#include "jit/a64/a64_kernel_args.h"
#include "jit/a64/a64_lut_layout.h"

namespace sherry::jit::a64 {
namespace {

namespace aj = asmjit;
using namespace asmjit::a64;  // NOLINT: register names read like assembly
using ir::LoopKind;

constexpr int64_t kMaxTokens = 4;  // one table pointer register each (x13..x16)

// Rows per sub-tile × 4 bytes: one 4-register group of int32 or fp32 lanes.
constexpr int64_t kSubTileLaneBytes = kNeonSubTileRows * 4;

// Register budget of a program: constants 9, table 4, per sub-tile 5 weight registers, 2 int16
// accumulators per token and one index register, plus 3 temporaries.
bool fits_registers(int64_t sub_tiles, int64_t tokens) {
  return tokens <= kMaxTokens && 9 + 4 + 3 + sub_tiles * (5 + 2 * tokens + 1) <= 32;
}

class NeonLutGenerator final : public A64Generator {
 public:
  NeonLutGenerator(const ir::Program& program, bool with_listing)
      : A64Generator(program.name, with_listing),
        p_(program),
        s_(program.shape),
        sub_tiles_(s_.row_tile / kNeonSubTileRows),
        tokens_(s_.n_tile),
        float_output_(program.key.output == ir::OutputMode::kFloat) {}

  Result<A64Code> generate() {
    if (s_.row_tile % kNeonSubTileRows != 0 || s_.blocks_per_step != kNeonStepBlocks) {
      return make_error(
          "{}: the NEON LUT path needs a row tile multiple of 16 and 8-block steps, "
          "got row tile {} and {}-block steps",
          p_.name, s_.row_tile, s_.blocks_per_step);
    }
    if (!fits_registers(sub_tiles_, tokens_)) {
      return make_error("{}: row tile {} with {} tokens exceeds the 32 NEON registers", p_.name,
                        s_.row_tile, tokens_);
    }
    assign_registers();
    prologue(2 * tokens_ * s_.row_tile * 4);
    load_arguments();
    SHERRY_TRY(emit_body(p_.body, Context{}));
    epilogue();
    return finish();
  }

 private:
  struct Context {
    bool in_tile = false;
    bool in_step = false;
  };

  // ---- registers -----------------------------------------------------------------------------
  // General: x0 args, x1 weights, x2 tables of token 0, x3 α, x4 out, x5 x scales, x6 tiles left,
  // x7 scratch base, x8 address temporary, x9 group / x11 chunk / x12 step counters,
  // x13..x16 table pointers of tokens 0..3, x17 immediate temporary.
  const GpX reg_args_ = x0, reg_weights_ = x1, reg_tables_ = x2, reg_alpha_ = x3, reg_out_ = x4,
            reg_x_scales_ = x5, reg_tiles_ = x6, reg_scratch_ = x7, reg_addr_ = x8, reg_tmp_ = x17;
  GpX loop_counter(LoopKind kind) const {
    switch (kind) {
      case LoopKind::kGroup:
        return x9;
      case LoopKind::kChunk:
        return x11;
      case LoopKind::kStep:
        return x12;
      case LoopKind::kToken:
      case LoopKind::kTile:
        break;
    }
    SHERRY_CHECK(false, "no counter register for loop {}", ir::to_string(kind));
    return x9;
  }
  GpX table_pointer(int64_t token) const { return x(static_cast<uint32_t>(13 + token)); }

  // Vector: v0 0x0F, v1 0x10 (also the bit-4 sign mask), v2..v8 the other sign bit masks,
  // v9..v12 the table (low plane 2 registers, high plane 2), then per sub-tile 5 weight
  // registers, the int16 accumulators, the index registers, and v29..v31 temporaries. At group
  // boundaries v28..v31 hold int32 lanes, v9..v12 α and v13..v16 outputs.
  void assign_registers() {
    uint32_t next = 13;
    for (int64_t s = 0; s < sub_tiles_; ++s) {
      for (int i = 0; i < 4; ++i) nibbles_[s][i] = v(next++);
      signs_[s] = v(next++);
    }
    for (int64_t t = 0; t < tokens_; ++t) {
      for (int64_t s = 0; s < sub_tiles_; ++s) {
        acc16_[t][s][0] = v(next++);
        acc16_[t][s][1] = v(next++);
      }
    }
    for (int64_t s = 0; s < sub_tiles_; ++s) index_[s] = v(next++);
    SHERRY_CHECK(next <= 29, "{}: register assignment ran to v{}", p_.name, next);
  }
  const VecV mask_low_nibble_ = v(0), mask_bit4_ = v(1);
  VecV sign_bit_mask(int64_t j) const {
    if (j == 4) return mask_bit4_;
    return v(static_cast<uint32_t>(2 + (j < 4 ? j : j - 1)));
  }
  const VecV table_lo0_ = v(9), table_lo1_ = v(10), table_hi0_ = v(11), table_hi1_ = v(12);
  const VecV mask_ = v(29), lo_ = v(30), hi_ = v(31);
  // Four consecutive registers for int32 / fp32 lanes of one sub-tile at group boundaries.
  std::array<VecV, 4> lanes_{v(28), v(29), v(30), v(31)};
  std::array<VecV, 4> alpha_{v(9), v(10), v(11), v(12)};
  std::array<VecV, 4> y_{v(13), v(14), v(15), v(16)};
  std::array<std::array<VecV, 4>, 2> nibbles_;
  std::array<VecV, 2> signs_;
  std::array<std::array<std::array<VecV, 2>, 2>, kMaxTokens> acc16_;
  std::array<VecV, 2> index_;

  // ---- scratch ---------------------------------------------------------------------------------
  // [acc32: token][sub-tile][16 int32], then [y: token][sub-tile][16 fp32].
  int64_t acc32_offset(int64_t t, int64_t s) const {
    return (t * sub_tiles_ + s) * kSubTileLaneBytes;
  }
  int64_t y_offset(int64_t t, int64_t s) const {
    return tokens_ * s_.row_tile * 4 + acc32_offset(t, s);
  }
  void scratch_address(int64_t offset) { as().add(reg_addr_, reg_scratch_, offset); }
  void load4(const std::array<VecV, 4>& r, const Mem& mem) {
    as().ld1(r[0].s4(), r[1].s4(), r[2].s4(), r[3].s4(), mem);
  }
  void store4(const std::array<VecV, 4>& r, const Mem& mem) {
    as().st1(r[0].s4(), r[1].s4(), r[2].s4(), r[3].s4(), mem);
  }
  void zero4(const std::array<VecV, 4>& r) {
    for (const VecV& reg : r) as().movi(reg.b16(), 0);
  }

  // ---- emission --------------------------------------------------------------------------------
  void load_arguments() {
    as().ldr(reg_weights_, ptr(reg_args_, kArgWeights));
    as().ldr(reg_tables_, ptr(reg_args_, kArgTables));
    as().ldr(reg_alpha_, ptr(reg_args_, kArgAlpha));
    as().ldr(reg_out_, ptr(reg_args_, kArgOut));
    as().ldr(reg_x_scales_, ptr(reg_args_, kArgXScales));
    as().ldr(reg_tiles_, ptr(reg_args_, kArgTiles));
    as().add(reg_scratch_, sp, 64);
    as().movi(mask_low_nibble_.b16(), 0x0F);
    for (int64_t j = 0; j < kNeonStepBlocks; ++j) as().movi(sign_bit_mask(j).b16(), 1 << j);
  }

  Status emit_body(const ir::Body& body, Context context) {
    for (const ir::Stmt& stmt : body) {
      SHERRY_TRY(std::visit(StmtEmitter{*this, context}, stmt));
    }
    return Status::success();
  }

  // One overload per statement (no catch-all: a new IR node must be handled here).
  struct StmtEmitter {
    NeonLutGenerator& g;
    Context context;
    Status operator()(const ir::Loop& loop) { return g.emit_loop(loop, context); }
    Status operator()(const ir::PermuteActivations&) { return g.host_side("PermuteActivations"); }
    Status operator()(const ir::BuildTables&) { return g.host_side("BuildTables"); }
    Status operator()(const ir::SumActivations&) { return g.host_side("SumActivations"); }
    Status operator()(const ir::DecodeWeights&) { return g.dot_program(); }
    Status operator()(const ir::DotAccumulate&) { return g.dot_program(); }
    Status operator()(const ir::ZeroOutput&) { return g.emit_zero_output(); }
    Status operator()(const ir::InitAccumulators&) { return g.emit_init_accumulators(); }
    Status operator()(const ir::LookupAccumulate&) {
      return make_error("{}: LookupAccumulate outside a step's token loop", g.p_.name);
    }
    Status operator()(const ir::Widen&) { return g.emit_widen(); }
    Status operator()(const ir::ScaleGroup&) { return g.emit_scale_group(); }
    Status operator()(const ir::StoreAccumulators&) { return g.emit_store_accumulators(); }
    Status operator()(const ir::Finish&) { return g.emit_finish(); }
  };

  Status dot_program() {
    return make_error("{}: dot programs (decode + int8 dot products) have no AArch64 generator",
                      p_.name);
  }

  Status host_side(const char* node) {
    return make_error("{}: {} is part of the host-side token prologue, found inside the kernel",
                      p_.name, node);
  }

  Status emit_loop(const ir::Loop& loop, Context context) {
    switch (loop.kind) {
      case LoopKind::kToken:
        return context.in_tile ? make_error("{}: token loop outside a step", p_.name)
                               : check_prologue(loop);
      case LoopKind::kTile:
        return emit_tile_loop(loop);
      case LoopKind::kGroup:
      case LoopKind::kChunk:
        return emit_counted_loop(loop, context);
      case LoopKind::kStep:
        return emit_step_loop(loop);
    }
    return make_error("{}: unknown loop", p_.name);
  }

  // The top-level token loop (permute, build tables) runs on the host: check that it builds
  // the folded tables this lowering looks up.
  Status check_prologue(const ir::Loop& loop) {
    for (const ir::Stmt& stmt : loop.body) {
      const auto* tables = std::get_if<ir::BuildTables>(&stmt);
      if (tables != nullptr && tables->mode != ir::LookupMode::kSignFolded) {
        return make_error("{}: the NEON LUT path looks up folded tables, the program builds {}",
                          p_.name, ir::to_string(tables->mode));
      }
    }
    return Status::success();
  }

  Status emit_tile_loop(const ir::Loop& loop) {
    aj::Label next_tile = as().newLabel();
    aj::Label done = as().newLabel();
    as().cbz(reg_tiles_, done);
    as().bind(next_tile);
    // Every tile reads all tables from the start.
    as().mov(table_pointer(0), reg_tables_);
    const int64_t table_stride = s_.k_pad / kWeightsPerBlock * kFoldedTableBytes;
    for (int64_t t = 1; t < tokens_; ++t) {
      as().mov(table_pointer(t), table_pointer(t - 1));
      add_imm(table_pointer(t), table_stride, reg_tmp_);
    }
    SHERRY_TRY(emit_body(loop.body, Context{.in_tile = true}));
    as().subs(reg_tiles_, reg_tiles_, 1);
    as().b_ne(next_tile);
    as().bind(done);
    return Status::success();
  }

  Status emit_counted_loop(const ir::Loop& loop, Context context) {
    if (loop.extent <= 0) return make_error("{}: empty {} loop", p_.name, to_string(loop.kind));
    if (loop.extent == 1) return emit_body(loop.body, context);
    const GpX counter = loop_counter(loop.kind);
    aj::Label top = as().newLabel();
    mov_imm(counter, static_cast<uint64_t>(loop.extent));
    as().bind(top);
    SHERRY_TRY(emit_body(loop.body, context));
    as().subs(counter, counter, 1);
    as().b_ne(top);
    return Status::success();
  }

  // A step's body must be the token loop around one folded int16 LookupAccumulate.
  Status emit_step_loop(const ir::Loop& loop) {
    const ir::LookupAccumulate* lookup = nullptr;
    if (loop.body.size() == 1) {
      if (const auto* tokens = std::get_if<ir::Loop>(&loop.body[0]);
          tokens != nullptr && tokens->kind == LoopKind::kToken && tokens->body.size() == 1 &&
          tokens->extent == tokens_) {
        lookup = std::get_if<ir::LookupAccumulate>(&tokens->body[0]);
      }
    }
    if (lookup == nullptr) {
      return make_error("{}: a step must hold one token loop around one LookupAccumulate", p_.name);
    }
    if (lookup->mode != ir::LookupMode::kSignFolded || lookup->width != ir::AccWidth::kI16) {
      return make_error("{}: the NEON LUT path emits folded int16 lookups, not {} {}", p_.name,
                        ir::to_string(lookup->mode), ir::to_string(lookup->width));
    }
    const GpX counter = loop_counter(LoopKind::kStep);
    aj::Label top = as().newLabel();
    mov_imm(counter, static_cast<uint64_t>(loop.extent));
    as().bind(top);
    begin_mark("step");
    emit_step();
    as().subs(counter, counter, 1);
    as().b_ne(top);
    end_mark("step");
    return Status::success();
  }

  // 8 blocks × row_tile rows × n_tile tokens.
  void emit_step() {
    for (int64_t s = 0; s < sub_tiles_; ++s) {
      const auto& n = nibbles_[s];
      as().ld1(n[0].b16(), n[1].b16(), n[2].b16(), n[3].b16(), ptr_post(reg_weights_, 64));
      as().ldr(signs_[s], ptr_post(reg_weights_, 16));
    }
    for (int64_t j = 0; j < kNeonStepBlocks; ++j) {
      // index = slot | sign << 4: the 5-bit code of block j for 16 rows.
      for (int64_t s = 0; s < sub_tiles_; ++s) {
        const VecV& source = nibbles_[s][j / 2];
        if (j % 2 == 0) {
          as().and_(index_[s].b16(), source.b16(), mask_low_nibble_.b16());
        } else {
          as().ushr(index_[s].b16(), source.b16(), 4);
        }
        as().cmtst(mask_.b16(), signs_[s].b16(), sign_bit_mask(j).b16());
        as().bit(index_[s].b16(), mask_.b16(), mask_bit4_.b16());
      }
      for (int64_t t = 0; t < tokens_; ++t) {
        as().ld1(table_lo0_.b16(), table_lo1_.b16(), table_hi0_.b16(), table_hi1_.b16(),
                 ptr_post(table_pointer(t), kFoldedTableBytes));
        for (int64_t s = 0; s < sub_tiles_; ++s) {
          as().tbl(lo_.b16(), table_lo0_.b16(), table_lo1_.b16(), index_[s].b16());
          as().tbl(hi_.b16(), table_hi0_.b16(), table_hi1_.b16(), index_[s].b16());
          // Interleave the byte planes into int16 lanes: rows 0..7, then rows 8..15.
          as().zip1(mask_.b16(), lo_.b16(), hi_.b16());
          as().zip2(lo_.b16(), lo_.b16(), hi_.b16());
          as().add(acc16_[t][s][0].h8(), acc16_[t][s][0].h8(), mask_.h8());
          as().add(acc16_[t][s][1].h8(), acc16_[t][s][1].h8(), lo_.h8());
        }
      }
    }
  }

  Status emit_zero_output() {
    if (!float_output_) return Status::success();
    zero4(lanes_);
    for (int64_t t = 0; t < tokens_; ++t) {
      for (int64_t s = 0; s < sub_tiles_; ++s) {
        scratch_address(y_offset(t, s));
        store4(lanes_, ptr(reg_addr_));
      }
    }
    return Status::success();
  }

  Status emit_init_accumulators() {
    zero4(lanes_);
    for (int64_t t = 0; t < tokens_; ++t) {
      for (int64_t s = 0; s < sub_tiles_; ++s) {
        scratch_address(acc32_offset(t, s));
        store4(lanes_, ptr(reg_addr_));
        as().movi(acc16_[t][s][0].b16(), 0);
        as().movi(acc16_[t][s][1].b16(), 0);
      }
    }
    return Status::success();
  }

  Status emit_widen() {
    for (int64_t t = 0; t < tokens_; ++t) {
      for (int64_t s = 0; s < sub_tiles_; ++s) {
        const auto& acc = acc16_[t][s];
        scratch_address(acc32_offset(t, s));
        load4(lanes_, ptr(reg_addr_));
        as().saddw(lanes_[0].s4(), lanes_[0].s4(), acc[0].h4());
        as().saddw2(lanes_[1].s4(), lanes_[1].s4(), acc[0].h8());
        as().saddw(lanes_[2].s4(), lanes_[2].s4(), acc[1].h4());
        as().saddw2(lanes_[3].s4(), lanes_[3].s4(), acc[1].h8());
        store4(lanes_, ptr(reg_addr_));
        as().movi(acc[0].b16(), 0);
        as().movi(acc[1].b16(), 0);
      }
    }
    return Status::success();
  }

  // y += (float)acc32 · α for every token; α of the group is read once per sub-tile.
  Status emit_scale_group() {
    for (int64_t s = 0; s < sub_tiles_; ++s) {
      load4(alpha_, ptr_post(reg_alpha_, kSubTileLaneBytes));
      for (int64_t t = 0; t < tokens_; ++t) {
        scratch_address(acc32_offset(t, s));
        load4(lanes_, ptr(reg_addr_));
        scratch_address(y_offset(t, s));
        load4(y_, ptr(reg_addr_));
        for (int i = 0; i < 4; ++i) {
          as().scvtf(lanes_[i].s4(), lanes_[i].s4());
          as().fmul(lanes_[i].s4(), lanes_[i].s4(), alpha_[i].s4());
          as().fadd(y_[i].s4(), y_[i].s4(), lanes_[i].s4());
        }
        store4(y_, ptr(reg_addr_));
      }
    }
    return Status::success();
  }

  // Accumulator output, tile-major: [group][token][row_tile] int32 per tile, written in order.
  Status emit_store_accumulators() {
    for (int64_t t = 0; t < tokens_; ++t) {
      for (int64_t s = 0; s < sub_tiles_; ++s) {
        scratch_address(acc32_offset(t, s));
        load4(lanes_, ptr(reg_addr_));
        store4(lanes_, ptr_post(reg_out_, kSubTileLaneBytes));
      }
    }
    return Status::success();
  }

  // y[t][row] = scale[t] · y: out is token-major with m_pad floats per token.
  Status emit_finish() {
    if (!float_output_) return make_error("{}: Finish in an accumulator kernel", p_.name);
    const VecV scale = alpha_[0];
    for (int64_t t = 0; t < tokens_; ++t) {
      as().ldr(scale.s(), ptr(reg_x_scales_, static_cast<int32_t>(4 * t)));
      for (int64_t s = 0; s < sub_tiles_; ++s) {
        scratch_address(y_offset(t, s));
        load4(y_, ptr(reg_addr_));
        for (int i = 0; i < 4; ++i) as().fmul(y_[i].s4(), y_[i].s4(), scale.s(0));
        as().mov(reg_addr_, reg_out_);
        add_imm(reg_addr_, (t * s_.m_pad + s * kNeonSubTileRows) * 4, reg_tmp_);
        store4(y_, ptr(reg_addr_));
      }
    }
    add_imm(reg_out_, s_.row_tile * 4, reg_tmp_);
    return Status::success();
  }

  const ir::Program& p_;
  const ir::ProgramShape& s_;
  const int64_t sub_tiles_;
  const int64_t tokens_;
  const bool float_output_;
};

}  // namespace

ir::LoweringTarget neon_lut_target() {
  ir::LoweringTarget target;
  target.row_tile = kNeonSubTileRows;
  target.row_tile_quantum = kNeonSubTileRows;
  target.blocks_per_step = kNeonStepBlocks;
  target.accumulate_i16 = true;
  target.lookup = ir::LookupMode::kSignFolded;
  return target;
}

Result<A64Code> generate_neon_lut(const ir::Program& program, bool with_listing) {
  return NeonLutGenerator(program, with_listing).generate();
}

}  // namespace sherry::jit::a64
