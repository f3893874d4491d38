#include "jit/a64/a64_sdot_gen.h"

#include <array>
#include <variant>

#include "core/ternary_code.h"
#include "jit/a64/a64_generator.h"
#include "jit/a64/a64_kernel_args.h"
#include "jit/a64/a64_lut_layout.h"

namespace sherry::jit::a64 {
namespace {

namespace aj = asmjit;
using namespace asmjit::a64;  // NOLINT: register names read like assembly
using ir::LoopKind;

constexpr int64_t kQuads = kNeonSubTileRows / 4;  // row-quads per tile: one sdot each
constexpr int64_t kTokenBlock = 4;                // tokens whose accumulators stay in registers
constexpr int64_t kStepActivationBytes = 32;      // 8 blocks × 4 int8 per token
constexpr int64_t kDecodedBlockBytes = kNeonSubTileRows * kWeightsPerBlock;  // 64
constexpr int64_t kLaneBytes = kNeonSubTileRows * 4;                         // 16 int32 / fp32

class SdotGenerator final : public A64Generator {
 public:
  SdotGenerator(const ir::Program& program, bool with_listing)
      : A64Generator(program.name, with_listing),
        p_(program),
        s_(program.shape),
        float_output_(program.key.output == ir::OutputMode::kFloat) {}

  Result<A64Code> generate() {
    if (s_.row_tile != kNeonSubTileRows || s_.blocks_per_step != kNeonStepBlocks ||
        s_.chunks_per_group != 1) {
      return make_error(
          "{}: the sdot path needs 16-row tiles, 8-block steps and no widening, got "
          "row tile {}, {}-block steps, {} chunks per group",
          p_.name, s_.row_tile, s_.blocks_per_step, s_.chunks_per_group);
    }
    constants_ = as().newLabel();
    prologue(s_.n_tile * kLaneBytes);
    load_arguments();
    SHERRY_TRY(emit_body(p_.body, false));
    epilogue();
    emit_constants();
    return finish();
  }

 private:
  // ---- registers -----------------------------------------------------------------------------
  // General: x0 args, x1 weights, x2 activations (step-major), x3 α, x4 out, x5 x scales,
  // x6 tiles left, x7 scratch (y per token), x8 address temporary, x9 group counter, x10
  // workspace, x11 workspace pointer, x12 step counter, x13 token-block counter, x14 the
  // group's activations, x15 the token block's activation pointer, x16 the token block's y,
  // x17 temporary.
  const GpX reg_args_ = x0, reg_weights_ = x1, reg_activations_ = x2, reg_alpha_ = x3,
            reg_out_ = x4, reg_x_scales_ = x5, reg_tiles_ = x6, reg_scratch_ = x7, reg_addr_ = x8,
            reg_groups_ = x9, reg_workspace_ = x10, reg_ws_ = x11, reg_steps_ = x12,
            reg_token_blocks_ = x13, reg_group_x_ = x14, reg_x_ = x15, reg_y_ = x16, reg_tmp_ = x17;

  // Decode pass: v0 0x3C, v1 0x40, v2..v4 0x01..0x03, v5..v8 the spread patterns of the 4
  // row-quads, v9..v16 the (code, lane) → value table (codes 0..15, then 16..31), v17..v21 the
  // step's weights, v22..v25 4·code + lane, v26 sign mask, v27 index, v28..v31 decoded quads.
  const VecV c3c_ = v(0), c40_ = v(1);
  std::array<VecV, 3> lane_ = {v(2), v(3), v(4)};
  std::array<VecV, 4> pattern_ = {v(5), v(6), v(7), v(8)};
  std::array<VecV, 4> values_pos_ = {v(9), v(10), v(11), v(12)};
  std::array<VecV, 4> values_neg_ = {v(13), v(14), v(15), v(16)};
  std::array<VecV, 4> nibbles_ = {v(17), v(18), v(19), v(20)};
  const VecV signs_ = v(21);
  std::array<VecV, 4> code4_ = {v(22), v(23), v(24), v(25)};
  const VecV sign_mask_ = v(26), index_ = v(27);
  std::array<VecV, 4> decoded_ = {v(28), v(29), v(30), v(31)};
  // Dot-product pass: v0..v15 accumulators [token][quad], v16..v19 one block's weights,
  // v20..v27 activations [token][2], v28..v31 α, and v16..v19 outputs when scaling.
  VecV acc(int64_t t, int64_t q) const { return v(static_cast<uint32_t>(4 * t + q)); }
  std::array<VecV, 4> weights_ = {v(16), v(17), v(18), v(19)};
  VecV activations(int64_t t, int64_t half) const {
    return v(static_cast<uint32_t>(20 + 2 * t + half));
  }
  std::array<VecV, 4> alpha_ = {v(28), v(29), v(30), v(31)};
  std::array<VecV, 4> y_ = {v(16), v(17), v(18), v(19)};

  aj::Label constants_;

  void load4(const std::array<VecV, 4>& r, const Mem& mem) {
    as().ld1(r[0].b16(), r[1].b16(), r[2].b16(), r[3].b16(), mem);
  }
  void store4(const std::array<VecV, 4>& r, const Mem& mem) {
    as().st1(r[0].b16(), r[1].b16(), r[2].b16(), r[3].b16(), mem);
  }

  void load_arguments() {
    as().ldr(reg_weights_, ptr(reg_args_, kArgWeights));
    as().ldr(reg_activations_, ptr(reg_args_, kArgTables));
    as().ldr(reg_alpha_, ptr(reg_args_, kArgAlpha));
    as().ldr(reg_out_, ptr(reg_args_, kArgOut));
    as().ldr(reg_x_scales_, ptr(reg_args_, kArgXScales));
    as().ldr(reg_tiles_, ptr(reg_args_, kArgTiles));
    as().ldr(reg_workspace_, ptr(reg_args_, kArgWorkspace));
    as().add(reg_scratch_, sp, 64);
  }

  // The decode constants live after the code; they are reloaded per group because the
  // dot-product pass reuses their registers.
  void load_decode_constants() {
    as().adr(reg_tmp_, constants_);
    load4(values_pos_, ptr_post(reg_tmp_, 64));
    load4(values_neg_, ptr_post(reg_tmp_, 64));
    load4(pattern_, ptr(reg_tmp_));
    as().movi(c3c_.b16(), 0x3C);
    as().movi(c40_.b16(), 0x40);
    for (int i = 0; i < 3; ++i) as().movi(lane_[i].b16(), i + 1);
  }

  void emit_constants() {
    as().align(aj::AlignMode::kData, 16);
    as().bind(constants_);
    // values[4·code + lane] = lane value of the code: codes 0..15 (sign 0), then 16..31.
    for (int code = 0; code < kCodeCount; ++code) {
      const TernaryBlock t = decode_ternary_code(static_cast<uint8_t>(code));
      for (int p = 0; p < kWeightsPerBlock; ++p) as().embedInt8(t[p]);
    }
    // pattern_q[k] = 16·(k % 4) + 4q + k / 4: byte k of quad q is lane k % 4 of row 4q + k / 4,
    // taken from register k % 4 of the 4·code + lane table.
    for (int q = 0; q < kQuads; ++q) {
      for (int k = 0; k < 16; ++k)
        as().embedUInt8(static_cast<uint8_t>(16 * (k % 4) + 4 * q + k / 4));
    }
  }

  // ---- program walk ------------------------------------------------------------------------
  Status emit_body(const ir::Body& body, bool in_tile) {
    for (const ir::Stmt& stmt : body) SHERRY_TRY(std::visit(StmtEmitter{*this, in_tile}, stmt));
    return Status::success();
  }

  // One overload per statement (no catch-all). Statements of a group are emitted by
  // emit_group(), which reorders them (decode once, then token blocks).
  struct StmtEmitter {
    SdotGenerator& g;
    bool in_tile;
    Status operator()(const ir::Loop& loop) { return g.emit_loop(loop, in_tile); }
    Status operator()(const ir::PermuteActivations&) { return g.misplaced("PermuteActivations"); }
    Status operator()(const ir::BuildTables&) { return g.misplaced("BuildTables"); }
    Status operator()(const ir::SumActivations&) { return g.misplaced("SumActivations"); }
    Status operator()(const ir::DecodeWeights&) { return g.misplaced("DecodeWeights"); }
    Status operator()(const ir::DotAccumulate&) { return g.misplaced("DotAccumulate"); }
    Status operator()(const ir::ZeroOutput&) { return g.emit_zero_output(); }
    Status operator()(const ir::InitAccumulators&) { return g.misplaced("InitAccumulators"); }
    Status operator()(const ir::LookupAccumulate&) { return g.misplaced("LookupAccumulate"); }
    Status operator()(const ir::Widen&) { return g.misplaced("Widen"); }
    Status operator()(const ir::ScaleGroup&) { return g.misplaced("ScaleGroup"); }
    Status operator()(const ir::StoreAccumulators&) { return g.misplaced("StoreAccumulators"); }
    Status operator()(const ir::Finish&) { return g.emit_finish(); }
  };

  Status misplaced(const char* node) {
    return make_error("{}: {} where the sdot lowering does not expect it", p_.name, node);
  }

  Status emit_loop(const ir::Loop& loop, bool in_tile) {
    switch (loop.kind) {
      case LoopKind::kToken:
        // The top-level token loop (permutation, tables) runs on the host; sdot needs no tables.
        return in_tile ? misplaced("a token loop") : Status::success();
      case LoopKind::kTile:
        return emit_tile_loop(loop);
      case LoopKind::kGroup:
        return emit_group_loop(loop);
      case LoopKind::kChunk:
      case LoopKind::kStep:
        return misplaced("a chunk or step loop outside a group");
    }
    return make_error("{}: unknown loop", p_.name);
  }

  Status emit_tile_loop(const ir::Loop& loop) {
    aj::Label next_tile = as().newLabel();
    aj::Label done = as().newLabel();
    as().cbz(reg_tiles_, done);
    as().bind(next_tile);
    as().mov(reg_group_x_, reg_activations_);
    SHERRY_TRY(emit_body(loop.body, true));
    as().subs(reg_tiles_, reg_tiles_, 1);
    as().b_ne(next_tile);
    as().bind(done);
    return Status::success();
  }

  // A group must be: InitAccumulators, one chunk loop of one step loop of one token loop of one
  // int32 LookupAccumulate, then ScaleGroup or StoreAccumulators.
  Status emit_group_loop(const ir::Loop& loop) {
    const ir::Body& b = loop.body;
    bool matches = b.size() == 3 && std::holds_alternative<ir::InitAccumulators>(b[0]);
    const ir::Loop* chunk = matches ? std::get_if<ir::Loop>(&b[1]) : nullptr;
    const ir::Loop* step = nullptr;
    const ir::LookupAccumulate* lookup = nullptr;
    if (chunk != nullptr && chunk->kind == LoopKind::kChunk && chunk->extent == 1 &&
        chunk->body.size() == 1) {
      step = std::get_if<ir::Loop>(&chunk->body[0]);
    }
    if (step != nullptr && step->kind == LoopKind::kStep && step->body.size() == 1) {
      const auto* tokens = std::get_if<ir::Loop>(&step->body[0]);
      if (tokens != nullptr && tokens->kind == LoopKind::kToken && tokens->body.size() == 1) {
        lookup = std::get_if<ir::LookupAccumulate>(&tokens->body[0]);
      }
    }
    const bool scale = matches && std::holds_alternative<ir::ScaleGroup>(b[2]);
    const bool store = matches && std::holds_alternative<ir::StoreAccumulators>(b[2]);
    if (lookup == nullptr || !(scale || store)) {
      return make_error(
          "{}: a group must accumulate one step loop of lookups, then scale or "
          "store (the lowering for sdot_target())",
          p_.name);
    }
    if (lookup->width != ir::AccWidth::kI32) {
      return make_error("{}: the sdot path accumulates in int32, the program asks for {}", p_.name,
                        ir::to_string(lookup->width));
    }
    const int64_t steps = step->extent;
    aj::Label next_group = as().newLabel();
    mov_imm(reg_groups_, static_cast<uint64_t>(loop.extent));
    as().bind(next_group);
    emit_decode(steps);
    const int64_t full_blocks = s_.n_tile / kTokenBlock;
    const int64_t tail = s_.n_tile % kTokenBlock;
    as().mov(reg_x_, reg_group_x_);
    as().mov(reg_y_, reg_scratch_);
    if (full_blocks > 0) {
      aj::Label next_block = as().newLabel();
      mov_imm(reg_token_blocks_, static_cast<uint64_t>(full_blocks));
      as().bind(next_block);
      emit_token_block(kTokenBlock, steps, scale);
      as().subs(reg_token_blocks_, reg_token_blocks_, 1);
      as().b_ne(next_block);
    }
    if (tail > 0) emit_token_block(tail, steps, scale);
    if (scale) add_imm(reg_alpha_, kLaneBytes, reg_tmp_);
    add_imm(reg_group_x_, steps * s_.n_tile * kStepActivationBytes, reg_tmp_);
    as().subs(reg_groups_, reg_groups_, 1);
    as().b_ne(next_group);
    return Status::success();
  }

  // The group's codes → int8 weights in the workspace, [block][quad][4 rows × 4 lanes].
  void emit_decode(int64_t steps) {
    load_decode_constants();
    as().mov(reg_ws_, reg_workspace_);
    aj::Label top = as().newLabel();
    mov_imm(reg_steps_, static_cast<uint64_t>(steps));
    as().bind(top);
    begin_mark("decode");
    load4(nibbles_, ptr_post(reg_weights_, 64));
    as().ldr(signs_, ptr_post(reg_weights_, 16));
    for (int64_t j = 0; j < kNeonStepBlocks; ++j) {
      const VecV& code4 = code4_[0];
      // 4·slot: the slot nibble moved to bits 2..5.
      if (j % 2 == 0) {
        as().shl(code4.b16(), nibbles_[j / 2].b16(), 2);
      } else {
        as().ushr(code4.b16(), nibbles_[j / 2].b16(), 2);
      }
      as().and_(code4.b16(), code4.b16(), c3c_.b16());
      // + 64·sign: sign bit j moved to bit 7, spread to the byte, inserted as bit 6.
      if (j == 7) {
        as().sshr(sign_mask_.b16(), signs_.b16(), 7);
      } else {
        as().shl(sign_mask_.b16(), signs_.b16(), static_cast<uint32_t>(7 - j));
        as().sshr(sign_mask_.b16(), sign_mask_.b16(), 7);
      }
      as().bit(code4.b16(), sign_mask_.b16(), c40_.b16());
      for (int i = 0; i < 3; ++i) as().orr(code4_[i + 1].b16(), code4.b16(), lane_[i].b16());
      for (int64_t q = 0; q < kQuads; ++q) {
        as().tbl(index_.b16(), code4_[0].b16(), code4_[1].b16(), code4_[2].b16(), code4_[3].b16(),
                 pattern_[q].b16());
        as().tbl(decoded_[q].b16(), values_pos_[0].b16(), values_pos_[1].b16(),
                 values_pos_[2].b16(), values_pos_[3].b16(), index_.b16());
        // Codes 16..31 (index 64..127) come from the second table; below 64 the subtraction
        // wraps past 127 and tbx leaves the byte alone.
        as().sub(index_.b16(), index_.b16(), c40_.b16());
        as().tbx(decoded_[q].b16(), values_neg_[0].b16(), values_neg_[1].b16(),
                 values_neg_[2].b16(), values_neg_[3].b16(), index_.b16());
      }
      store4(decoded_, ptr_post(reg_ws_, kDecodedBlockBytes));
    }
    as().subs(reg_steps_, reg_steps_, 1);
    as().b_ne(top);
    end_mark("decode");
  }

  // Accumulates `tokens` tokens over the group's steps, then scales or stores them.
  void emit_token_block(int64_t tokens, int64_t steps, bool scale) {
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t q = 0; q < kQuads; ++q) as().movi(acc(t, q).b16(), 0);
    }
    as().mov(reg_ws_, reg_workspace_);
    as().mov(reg_addr_, reg_x_);
    aj::Label top = as().newLabel();
    mov_imm(reg_steps_, static_cast<uint64_t>(steps));
    as().bind(top);
    const std::string mark = fmt::format("sdot_{}_tokens", tokens);
    begin_mark(mark);
    for (int64_t t = 0; t < tokens; ++t) {
      as().ld1(activations(t, 0).b16(), activations(t, 1).b16(),
               ptr_post(reg_addr_, kStepActivationBytes));
    }
    add_imm(reg_addr_, (s_.n_tile - tokens) * kStepActivationBytes, reg_tmp_);
    for (int64_t j = 0; j < kNeonStepBlocks; ++j) {
      load4(weights_, ptr_post(reg_ws_, kDecodedBlockBytes));
      for (int64_t t = 0; t < tokens; ++t) {
        const VecV x = activations(t, j / 4);
        for (int64_t q = 0; q < kQuads; ++q) {
          sdot_lane(acc(t, q), weights_[q], x, static_cast<uint32_t>(j % 4));
        }
      }
    }
    as().subs(reg_steps_, reg_steps_, 1);
    as().b_ne(top);
    end_mark(mark);
    if (scale) {
      as().ld1(alpha_[0].s4(), alpha_[1].s4(), alpha_[2].s4(), alpha_[3].s4(), ptr(reg_alpha_));
      for (int64_t t = 0; t < tokens; ++t) {
        as().ld1(y_[0].s4(), y_[1].s4(), y_[2].s4(), y_[3].s4(), ptr(reg_y_));
        for (int64_t q = 0; q < kQuads; ++q) {
          as().scvtf(acc(t, q).s4(), acc(t, q).s4());
          as().fmul(acc(t, q).s4(), acc(t, q).s4(), alpha_[q].s4());
          as().fadd(y_[q].s4(), y_[q].s4(), acc(t, q).s4());
        }
        as().st1(y_[0].s4(), y_[1].s4(), y_[2].s4(), y_[3].s4(), ptr_post(reg_y_, kLaneBytes));
      }
    } else {
      for (int64_t t = 0; t < tokens; ++t) {
        as().st1(acc(t, 0).s4(), acc(t, 1).s4(), acc(t, 2).s4(), acc(t, 3).s4(),
                 ptr_post(reg_out_, kLaneBytes));
      }
    }
    add_imm(reg_x_, tokens * kStepActivationBytes, reg_tmp_);
  }

  Status emit_zero_output() {
    if (!float_output_) return Status::success();
    for (int i = 0; i < 4; ++i) as().movi(y_[i].b16(), 0);
    as().mov(reg_addr_, reg_scratch_);
    for (int64_t t = 0; t < s_.n_tile; ++t) {
      as().st1(y_[0].s4(), y_[1].s4(), y_[2].s4(), y_[3].s4(), ptr_post(reg_addr_, kLaneBytes));
    }
    return Status::success();
  }

  // y[t][row] = scale[t] · y: out is token-major with m_pad floats per token.
  Status emit_finish() {
    if (!float_output_) return make_error("{}: Finish in an accumulator kernel", p_.name);
    const VecV scale = alpha_[0];
    for (int64_t t = 0; t < s_.n_tile; ++t) {
      as().ldr(scale.s(), ptr(reg_x_scales_, static_cast<int32_t>(4 * t)));
      as().add(reg_addr_, reg_scratch_, t * kLaneBytes);
      as().ld1(y_[0].s4(), y_[1].s4(), y_[2].s4(), y_[3].s4(), ptr(reg_addr_));
      for (int i = 0; i < 4; ++i) as().fmul(y_[i].s4(), y_[i].s4(), scale.s(0));
      as().mov(reg_addr_, reg_out_);
      add_imm(reg_addr_, t * s_.m_pad * 4, reg_tmp_);
      as().st1(y_[0].s4(), y_[1].s4(), y_[2].s4(), y_[3].s4(), ptr(reg_addr_));
    }
    add_imm(reg_out_, s_.row_tile * 4, reg_tmp_);
    return Status::success();
  }

  const ir::Program& p_;
  const ir::ProgramShape& s_;
  const bool float_output_;
};

}  // namespace

ir::LoweringTarget sdot_target() {
  ir::LoweringTarget target;
  target.row_tile = kNeonSubTileRows;
  target.row_tile_quantum = kNeonSubTileRows;
  target.blocks_per_step = kNeonStepBlocks;
  target.accumulate_i16 = false;
  target.lookup = ir::LookupMode::kSignAfterLookup;
  return target;
}

int64_t sdot_workspace_bytes(const ir::ProgramShape& shape) {
  return shape.blocks_per_group() * kDecodedBlockBytes;
}

Result<A64Code> generate_sdot(const ir::Program& program, bool with_listing) {
  return SdotGenerator(program, with_listing).generate();
}

}  // namespace sherry::jit::a64
