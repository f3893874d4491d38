#include "jit/x64/lut_generator_base.h"

#include <variant>

namespace sherry::jit::x64 {

void LutGeneratorBase::walk(const ir::Body& body) {
  for (const ir::Stmt& stmt : body) {
    std::visit(
        [&](const auto& node) {
          using Node = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<Node, ir::Loop>) {
            emit_loop(node);
          } else if constexpr (std::is_same_v<Node, ir::PermuteActivations> ||
                               std::is_same_v<Node, ir::BuildTables>) {
            // Host side: table_builder.h runs these before the call.
          } else if constexpr (std::is_same_v<Node, ir::ZeroOutput>) {
            emit_zero_output();
          } else if constexpr (std::is_same_v<Node, ir::InitAccumulators>) {
            emit_init_accumulators();
          } else if constexpr (std::is_same_v<Node, ir::LookupAccumulate>) {
            emit_lookup_accumulate(node);
          } else if constexpr (std::is_same_v<Node, ir::Widen>) {
            emit_widen();
          } else if constexpr (std::is_same_v<Node, ir::ScaleGroup>) {
            emit_scale_group();
          } else if constexpr (std::is_same_v<Node, ir::StoreAccumulators>) {
            emit_store_accumulators();
          } else if constexpr (std::is_same_v<Node, ir::Finish>) {
            emit_finish();
          } else if constexpr (std::is_same_v<Node, ir::SumActivations> ||
                               std::is_same_v<Node, ir::DecodeWeights> ||
                               std::is_same_v<Node, ir::DotAccumulate>) {
            SHERRY_CHECK(false, "{}: a dot program's statement in a lookup kernel", program_.name);
          } else {
            static_assert(sizeof(Node) == 0, "a statement the x86-64 generators do not handle");
          }
        },
        stmt);
  }
}

void LutGeneratorBase::emit_counted(const Xbyak::Reg64& counter, int64_t extent,
                                    const ir::Body& body) {
  if (extent == 1) {
    walk(body);
    return;
  }
  Xbyak::Label top;
  mov(counter, extent);
  L(top);
  walk(body);
  dec(counter);
  jnz(top, T_NEAR);
}

void LutGeneratorBase::emit_loop(const ir::Loop& loop) {
  switch (loop.kind) {
    case ir::LoopKind::kToken:
      // The prologue's token loop is host side; inside a step the family handles all tokens.
      for (const ir::Stmt& stmt : loop.body) {
        if (const auto* lookup = std::get_if<ir::LookupAccumulate>(&stmt)) {
          emit_lookup_accumulate(*lookup);
          emit_step_end();
          add(reg_tables, static_cast<uint32_t>(layout_.step_table_bytes));
        }
      }
      return;
    case ir::LoopKind::kTile:
      emit_tile_loop(loop);
      return;
    case ir::LoopKind::kGroup: {
      Xbyak::Label top;
      mov(reg_group, loop.extent);
      L(top);
      emit_group_begin();
      walk(loop.body);
      if (layout_.group_tail_bytes > 0) {
        add(reg_tables, static_cast<uint32_t>(layout_.group_tail_bytes));
      }
      emit_group_end();
      add(reg_acc_out, static_cast<uint32_t>(layout_.m_pad * 4));
      dec(reg_group);
      jnz(top, T_NEAR);
      return;
    }
    case ir::LoopKind::kChunk:
      emit_counted(reg_chunk, loop.extent, loop.body);
      return;
    case ir::LoopKind::kStep:
      emit_counted(reg_step, loop.extent, loop.body);
      return;
  }
}

void LutGeneratorBase::start_stream(const Xbyak::Reg64& reg, size_t offset,
                                    int64_t bytes_per_tile) {
  mov(reg, arg(offset));
  mov(reg_tmp, reg_tile);
  imul(reg_tmp, reg_tmp, static_cast<uint32_t>(bytes_per_tile));
  add(reg, reg_tmp);
}

void LutGeneratorBase::emit_tile_streams() {
  start_stream(reg_weights, offsetof(KernelArgs, weights), layout_.tile_weight_bytes);
  start_stream(reg_alpha, offsetof(KernelArgs, alpha), layout_.groups * row_tile() * 4);
  start_stream(reg_nneg, offsetof(KernelArgs, nneg), layout_.groups * row_tile() * 4);
}

void LutGeneratorBase::emit_group_end() {
  add(reg_alpha, static_cast<uint32_t>(row_tile() * 4));
  add(reg_nneg, static_cast<uint32_t>(row_tile() * 4));
}

void LutGeneratorBase::emit_step_end() {
  add(reg_weights, static_cast<uint32_t>(layout_.step_weight_bytes));
}

void LutGeneratorBase::emit_tile_loop(const ir::Loop& loop) {
  Xbyak::Label top, done;
  mov(reg_tile, arg(offsetof(KernelArgs, tile_begin)));
  mov(reg_tile_end, arg(offsetof(KernelArgs, tile_end)));
  cmp(reg_tile, reg_tile_end);
  jge(done, T_NEAR);
  // Stream pointers of the first tile: the streams are tile-major, so they then just advance.
  emit_tile_streams();
  start_stream(reg_out, offsetof(KernelArgs, out), row_tile() * 4);
  L(top);
  mov(reg_tables, arg(offsetof(KernelArgs, tables)));
  mov(reg_acc_out, reg_out);
  walk(loop.body);
  add(reg_out, static_cast<uint32_t>(row_tile() * 4));
  inc(reg_tile);
  cmp(reg_tile, reg_tile_end);
  jl(top, T_NEAR);
  L(done);
}

}  // namespace sherry::jit::x64
