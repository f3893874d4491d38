#include "runtime/linear_layer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/sherry_tensors.h"

namespace sherry::runtime {
namespace {

// Drops the whole pages inside [begin, begin + bytes) of a read-only file mapping from the process
// (they read back from the file if ever touched again: Reader::open maps the file MAP_PRIVATE
// and read-only): for weights a kernel has copied.
void release_pages(const void* begin, size_t bytes) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto first = (reinterpret_cast<uintptr_t>(begin) + page - 1) / page * page;
  const auto last = (reinterpret_cast<uintptr_t>(begin) + bytes) / page * page;
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace

Result<LinearLayer> LinearLayer::load(const gguf::Reader& reader, const std::string& name,
                                      int64_t rows, int64_t cols,
                                      const LinearLoadOptions& options) {
  using gguf::TensorType;
  auto info = reader.require_tensor(name, {cols, rows});
  if (!info) return info.error();
  LinearLayer layer;
  layer.rows_ = rows;
  layer.cols_ = cols;
  layer.pool_ = options.pool;
  const TensorType type = (*info)->type;
  if (const std::optional<FloatType> float_type = float_type_of(type)) {
    layer.matrix_ = {*float_type, rows, cols, (*info)->data};
    layer.weight_bytes_ = static_cast<int64_t>((*info)->byte_size);
    return layer;
  }

  jit::LinearOptions linear_options;
  linear_options.backend = options.backend;
  linear_options.max_tokens = options.max_tokens;
  linear_options.pool = options.pool;
  linear_options.name = name;
  auto build = [&](const PackedTensorView& view) -> Status {
    layer.weight_bytes_ =
        view.rows * view.row_bytes() + scale_count(view.layout, view.rows, view.cols) * 2;
    const auto start = std::chrono::steady_clock::now();
    auto kernel = jit::make_linear(view, linear_options);
    if (options.jit_seconds != nullptr) {
      *options.jit_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (!kernel) return kernel.error().with_context(reader.path());
    layer.kernel_ = std::move(*kernel);
    return Status::success();
  };
  if (type == TensorType::kSherry) {
    auto view = gguf::read_sherry_tensor(reader, name);
    if (!view) return view.error();
    SHERRY_TRY(build(*view));
    // The kernel keeps its own repacked copy: the mapped codes and scales are not read again.
    release_pages(view->codes, static_cast<size_t>(view->rows * view->row_bytes()));
    release_pages(view->scales,
                  static_cast<size_t>(scale_count(view->layout, view->rows, view->cols)) * 2);
  } else if (type == TensorType::kSTQ1_0 || type == TensorType::kSTQ1_0_Released) {
    auto packed = gguf::read_stq1_0_tensor(reader, name, options.stq1_0_grouping);
    if (!packed) return packed.error();
    SHERRY_TRY(build(packed->view()));
  } else {
    const auto* traits = gguf::tensor_type_traits(static_cast<uint32_t>(type));
    return make_error(
        "{}: tensor '{}': expected type sherry, STQ1_0, F32, F16, BF16 or Q8_0, found {}",
        reader.path(), name, traits != nullptr ? traits->name : "unknown");
  }
  return layer;
}

LinearLayer LinearLayer::from_float(const FloatMatrix& matrix, ThreadPool* pool) {
  LinearLayer layer;
  layer.rows_ = matrix.rows;
  layer.cols_ = matrix.cols;
  layer.matrix_ = matrix;
  layer.pool_ = pool;
  layer.weight_bytes_ = matrix.rows * matrix.row_bytes();
  return layer;
}

void LinearLayer::repack_q8_0(bool release_source) {
  if (kernel_ != nullptr || matrix_.type == FloatType::kQ8_0 || cols_ % kQ8_0BlockWeights != 0) {
    return;
  }
  const int64_t blocks = cols_ / kQ8_0BlockWeights;
  owned_.resize(rows_ * blocks);
  std::vector<float> row(cols_);
  const auto* source = static_cast<const uint8_t*>(matrix_.data);
  const int64_t source_row_bytes = matrix_.row_bytes();
  constexpr int64_t kChunkRows = 256;
  for (int64_t r = 0; r < rows_; ++r) {
    matrix_.row_to_float(r, row.data());
    quantize_q8_0_row(row.data(), cols_, owned_.data() + r * blocks);
    if (release_source && (r % kChunkRows == kChunkRows - 1 || r == rows_ - 1)) {
      // Pages straddling two chunks stay: a few KiB.
      const int64_t first = r / kChunkRows * kChunkRows;
      release_pages(source + first * source_row_bytes,
                    static_cast<size_t>((r + 1 - first) * source_row_bytes));
    }
  }
  matrix_ = {FloatType::kQ8_0, rows_, cols_, owned_.data()};
  weight_bytes_ = rows_ * matrix_.row_bytes();
}

void LinearLayer::forward(const float* x, int64_t n, float* y) {
  if (kernel_ != nullptr)
    kernel_->forward(x, n, y);
  else
    float_gemm(matrix_, x, n, y, pool_);
}

void LinearLayer::forward_quantized(const QuantizedActivations& x, float* y) {
  SHERRY_CHECK(kernel_ != nullptr, "forward_quantized on a float layer");
  kernel_->forward_quantized(x, y);
}

std::string LinearLayer::kernel_name() const {
  if (kernel_ != nullptr) return kernel_->kernel_name();
  const char* type = matrix_.type == FloatType::kF32    ? "f32"
                     : matrix_.type == FloatType::kF16  ? "f16"
                     : matrix_.type == FloatType::kQ8_0 ? "q8_0"
                                                        : "bf16";
  return std::string("float_gemm_") + type + "_" + float_kernels_isa();
}

void quantize_into(const float* x, int64_t n, int64_t cols, QuantizedActivations& out) {
  SHERRY_CHECK(static_cast<int64_t>(out.values.size()) >= n * cols &&
               static_cast<int64_t>(out.scales.size()) >= n);
  out.tokens = n;
  out.cols = cols;
  for (int64_t t = 0; t < n; ++t) {
    out.scales[t] = quantize_token_i8(x + t * cols, cols, out.values.data() + t * cols);
  }
}

}  // namespace sherry::runtime
