#include "ir/lower.h"

#include <utility>

#include "core/ternary_code.h"

namespace sherry::ir {
namespace {

int64_t round_up(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

template <class F>
void visit_loops(Body& body, const F& f) {
  for (Stmt& stmt : body) {
    if (Loop* loop = std::get_if<Loop>(&stmt)) {
      f(*loop);
      visit_loops(loop->body, f);
    }
  }
}

void set_extent(Program& program, LoopKind kind, int64_t extent) {
  visit_loops(program.body, [&](Loop& loop) {
    if (loop.kind == kind) loop.extent = extent;
  });
}

void set_tile_extent(Program& program) {
  set_extent(program, LoopKind::kTile, program.shape.tiles());
}

}  // namespace

LoweringTarget scalar_target() {
  return LoweringTarget{};
}

Program build_naive(const KernelKey& key) {
  Program program;
  program.key = key;
  program.name = kernel_name(key);
  ProgramShape& s = program.shape;
  s.m = s.m_pad = key.m;
  s.k = s.k_pad = key.k;
  s.row_tile = 1;
  s.blocks_per_step = 1;
  s.groups = scale_groups_per_row(key.layout, key.k);
  s.chunks_per_group = 1;
  s.steps_per_chunk = accumulation_group_size(key.layout, key.k) / kWeightsPerBlock;
  s.n_tile = key.n_tile;

  // Lookup programs build tables per token and look codes up in them; dot programs decode the
  // tile's codes into int8 weights and take dot products with the activations.
  const bool dot = key.op == KernelOp::kDotGemm;
  Body prologue_body{PermuteActivations{key.layout.grouping}};
  if (dot) {
    prologue_body.push_back(SumActivations{});
  } else {
    prologue_body.push_back(BuildTables{LookupMode::kSignAfterLookup});
  }
  Body token_body;
  if (dot) {
    token_body.push_back(DotAccumulate{});
  } else {
    token_body.push_back(LookupAccumulate{LookupMode::kSignAfterLookup, AccWidth::kI32});
  }
  Body step_body{Loop{LoopKind::kToken, s.n_tile, std::move(token_body)}};
  Body chunk_body{Loop{LoopKind::kStep, s.steps_per_chunk, std::move(step_body)}};
  Body group_body{InitAccumulators{dot ? AccInit::kMinusActivationSums : AccInit::kZero},
                  Loop{LoopKind::kChunk, 1, std::move(chunk_body)}};
  if (key.output == OutputMode::kAccumulators) {
    group_body.push_back(StoreAccumulators{});
  } else {
    group_body.push_back(ScaleGroup{});
  }
  Body tile_body;
  if (dot) tile_body.push_back(DecodeWeights{});
  tile_body.push_back(ZeroOutput{});
  tile_body.push_back(Loop{LoopKind::kGroup, s.groups, std::move(group_body)});
  if (key.output == OutputMode::kFloat) tile_body.push_back(Finish{});
  program.body.push_back(Loop{LoopKind::kToken, s.n_tile, std::move(prologue_body)});
  program.body.push_back(Loop{LoopKind::kTile, s.tiles(), std::move(tile_body)});
  return program;
}

Status tile_rows(Program& program, int64_t row_tile) {
  if (row_tile <= 0) return make_error("{}: row tile {} must be positive", program.name, row_tile);
  program.shape.row_tile = row_tile;
  program.shape.m_pad = round_up(program.shape.m, row_tile);
  set_tile_extent(program);
  return Status::success();
}

Status step_blocks(Program& program, int64_t blocks_per_step) {
  ProgramShape& s = program.shape;
  const int64_t step_weights = blocks_per_step * kWeightsPerBlock;
  if (s.groups == 1) {
    // One accumulation group per row: pad K with zero activations up to whole steps.
    s.k_pad = round_up(s.k, step_weights);
    s.steps_per_chunk = s.k_pad / step_weights;
  } else {
    const int64_t group_weights = accumulation_group_size(program.key.layout, s.k);
    if (group_weights % step_weights != 0) {
      return make_error(
          "{}: scale group size {} is not a multiple of {} weights (the step of this ISA path)",
          program.name, group_weights, step_weights);
    }
    s.steps_per_chunk = group_weights / step_weights;
  }
  s.blocks_per_step = blocks_per_step;
  s.chunks_per_group = 1;
  set_extent(program, LoopKind::kChunk, 1);
  set_extent(program, LoopKind::kStep, s.steps_per_chunk);
  return Status::success();
}

Status accumulate_i16(Program& program) {
  ProgramShape& s = program.shape;
  if (s.blocks_per_step > kMaxI16Lookups) {
    return make_error("{}: a step of {} blocks overflows an int16 accumulator", program.name,
                      s.blocks_per_step);
  }
  // Widen after the largest divisor of the group's steps whose lookups fit int16.
  const int64_t steps = s.steps_per_group();
  int64_t chunk = 1;
  for (int64_t d = 1; d <= steps; ++d) {
    if (steps % d == 0 && d * s.blocks_per_step <= kMaxI16Lookups) chunk = d;
  }
  s.steps_per_chunk = chunk;
  s.chunks_per_group = steps / chunk;
  visit_loops(program.body, [&](Loop& loop) {
    if (loop.kind == LoopKind::kChunk) {
      loop.extent = s.chunks_per_group;
      loop.body.push_back(Widen{});
    }
    if (loop.kind == LoopKind::kStep) loop.extent = chunk;
    for (Stmt& stmt : loop.body) {
      if (auto* lookup = std::get_if<LookupAccumulate>(&stmt)) lookup->width = AccWidth::kI16;
    }
  });
  return Status::success();
}

void fold_sign(Program& program) {
  auto fold = [](Body& body) {
    for (Stmt& stmt : body) {
      if (auto* lookup = std::get_if<LookupAccumulate>(&stmt))
        lookup->mode = LookupMode::kSignFolded;
      if (auto* tables = std::get_if<BuildTables>(&stmt)) tables->mode = LookupMode::kSignFolded;
    }
  };
  visit_loops(program.body, [&](Loop& loop) { fold(loop.body); });
}

Result<Program> lower(const KernelKey& key, const LoweringTarget& target, const LowerTrace& trace) {
  if (key.m <= 0 || key.k <= 0 || key.n_tile <= 0) {
    return make_error("kernel {}: m, k and n_tile must be positive", kernel_name(key));
  }
  if (key.op == KernelOp::kGemv && key.n_tile != 1) {
    return make_error("kernel {}: a GEMV kernel has n_tile 1, got {}", kernel_name(key),
                      key.n_tile);
  }
  if (key.op == KernelOp::kDotGemm && key.table != TablePrecision::kInt16Exact) {
    return make_error("kernel {}: a dot kernel has no tables, so no {} table precision",
                      kernel_name(key), to_string(key.table));
  }
  SHERRY_TRY(validate_layout(key.layout, key.m, key.k, kernel_name(key)));
  int64_t row_tile = target.row_tile;
  if (key.tuning.row_tile != 0) {
    if (key.tuning.row_tile % target.row_tile_quantum != 0) {
      return make_error("kernel {}: row tile {} is not a multiple of {} (this ISA path's quantum)",
                        kernel_name(key), key.tuning.row_tile, target.row_tile_quantum);
    }
    row_tile = key.tuning.row_tile;
  }
  auto report = [&](std::string_view step, const Program& program) {
    if (trace) trace(step, program);
  };
  Program program = build_naive(key);
  report("naive", program);
  SHERRY_TRY(tile_rows(program, row_tile));
  report("tile_rows", program);
  SHERRY_TRY(step_blocks(program, target.blocks_per_step));
  report("step_blocks", program);
  // Dot programs accumulate int32 products and have no tables whose sign could be folded.
  const bool dot = key.op == KernelOp::kDotGemm;
  if (target.accumulate_i16 && !dot) {
    SHERRY_TRY(accumulate_i16(program));
    report("accumulate_i16", program);
  }
  if (target.lookup == LookupMode::kSignFolded && !dot) {
    fold_sign(program);
    report("fold_sign", program);
  }
  return program;
}

}  // namespace sherry::ir
