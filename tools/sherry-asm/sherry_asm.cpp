// sherry-asm: prints a kernel's name, IR and disassembly for a shape, layout, ISA and tuning given
// on the command line, or for a tensor of a model file.
//   sherry-asm --m 2048 --k 8192 --isa avx512vbmi
//   sherry-asm --model model.gguf --tensor blk.0.ffn_down.weight --n 2 --trace --raw down.bin
//   sherry-asm --arch aarch64 --isa neon --m 2048 --k 8192     (AArch64 listing, on any host)
//   sherry-asm --dot --n 64 --m 2048 --k 8192    (the dot GEMM family: decode + int8 dot products)
//   sherry-asm --list-paths     (every ISA path: runs here, lacks CPU features, or other arch)
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "jit/cpu_detect.h"
#include "tools/sherry-asm/asm_listing.h"

namespace {

// One line per ISA path of jit/paths.h: "<isa> <arch> runs-here", "<isa> <arch> lacks <f>,<f>"
// (this CPU misses those features) or "<isa> <arch> other-arch" (code for another architecture).
// SHERRY_MAX_ISA does not apply: the line says what the hardware allows.
void list_paths() {
  using namespace sherry::jit;
  const CpuInfo& cpu = host_cpu();
  for (const IsaPath& path : kIsaPaths) {
    const char* arch = path.backend == BackendKind::kA64   ? "aarch64"
                       : path.backend == BackendKind::kX64 ? "x86_64"
                                                           : "any";
    std::string missing;
    for (const CpuFeature f : path.features()) {
      if (!cpu.has(f)) missing += (missing.empty() ? "" : ",") + std::string(to_string(f));
    }
    const std::string isa(sherry::ir::to_string(path.isa));
    if (path.backend != BackendKind::kReference && !path_runs_in_this_build(path)) {
      std::printf("%s %s other-arch\n", isa.c_str(), arch);
    } else if (!missing.empty()) {
      std::printf("%s %s lacks %s\n", isa.c_str(), arch, missing.c_str());
    } else {
      std::printf("%s %s runs-here\n", isa.c_str(), arch);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sherry;
  CLI::App app("sherry-asm: kernel name, IR and disassembly of a generated kernel");
  int64_t m = 2048, k = 2048, n = 1, group_size = 128, row_tile = 0,
          prefetch = ir::kPathDefaultPrefetch, token_block = 0, k_block = 0;
  bool dot = false;
  std::string arch, isa_name, grouping_name = "contiguous", scale_name = "group", output = "float";
  std::string model, tensor;
  tools::AsmRequest request;
  bool no_disasm = false;
  app.add_option("--m", m, "rows (output features)");
  app.add_option("--k", k, "cols (input features)");
  app.add_option("--n", n, "tokens per call (1: GEMV)");
  app.add_option("--arch", arch,
                 "x86_64 or aarch64 (default: this machine's; any host lists both)");
  app.add_option("--isa", isa_name,
                 "ssse3, avx2, avx512bw, avx512vbmi, neon or dotprod (default: the best here, "
                 "dotprod for --arch aarch64)");
  app.add_option("--grouping", grouping_name, "contiguous or stride16");
  app.add_option("--scale", scale_name, "group, channel or tensor");
  app.add_option("--group-size", group_size, "weights per scale group");
  app.add_option("--row-tile", row_tile, "rows per tile (0: the path's default)");
  app.add_option("--prefetch", prefetch,
                 "weight prefetch distance in bytes (0: none; default: the path's)");
  app.add_option("--output", output, "float or acc (int32 accumulators)");
  app.add_flag("--dot", dot,
               "the dot GEMM family (ir::KernelOp::kDotGemm): --n is the most tokens per call");
  app.add_option("--token-block", token_block,
                 "dot kernels: tokens per register block (0: the path's default)");
  app.add_option("--k-block", k_block, "dot kernels: scale groups per panel (0: the default)");
  app.add_option("--model", model, "GGUF model file (with --tensor: its shape and layout)");
  app.add_option("--tensor", tensor, "sherry tensor name in --model");
  app.add_flag("--trace", request.trace, "print the IR after every lowering step");
  app.add_flag("--no-disasm", no_disasm, "skip the disassembly");
  app.add_option("--raw", request.raw_path, "write the code bytes to this file");
  bool list = false;
  app.add_flag("--list-paths", list,
               "list every ISA path: runs here, lacks CPU features (named) or other arch");
  CLI11_PARSE(app, argc, argv);
  if (list) {
    list_paths();
    return 0;
  }

  auto fail = [](const Error& error, int code) {
    std::fprintf(stderr, "error: %s\n", error.message().c_str());
    return code;
  };
  ir::KernelKey& key = request.key;
  if (!model.empty() || !tensor.empty()) {
    if (model.empty() || tensor.empty()) {
      return fail(Error("--model and --tensor go together"), 2);
    }
    Result<ir::KernelKey> from_model = tools::key_from_model(model, tensor);
    if (!from_model.ok()) return fail(from_model.error(), 1);
    key = *from_model;
  } else {
    key.m = m;
    key.k = k;
    Result<BlockGrouping> grouping = parse_block_grouping(grouping_name);
    if (!grouping.ok()) return fail(grouping.error(), 2);
    Result<ScaleGranularity> scale = parse_scale_granularity(scale_name);
    if (!scale.ok()) return fail(scale.error(), 2);
    key.layout = WeightLayout{*grouping, *scale, group_size};
  }
  Result<ir::Isa> isa = tools::choose_isa(arch, isa_name, jit::best_isa(jit::host_cpu()));
  if (!isa.ok()) return fail(isa.error(), 2);
  key.isa = *isa;
  if (output != "float" && output != "acc") {
    return fail(make_error("--output '{}': expected float or acc", output), 2);
  }
  key.output = output == "acc" ? ir::OutputMode::kAccumulators : ir::OutputMode::kFloat;
  key.n_tile = n;
  key.op = dot ? ir::KernelOp::kDotGemm : n == 1 ? ir::KernelOp::kGemv : ir::KernelOp::kGemm;
  key.tuning.row_tile = row_tile;
  key.tuning.prefetch = prefetch;
  key.tuning.token_block = token_block;
  key.tuning.k_block = k_block;
  request.disassemble = !no_disasm;
  Result<std::string> listing = tools::asm_listing(request);
  if (!listing.ok()) return fail(listing.error(), 1);
  std::fputs(listing->c_str(), stdout);
  return 0;
}
