#include "runtime/linear_layer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string_view>

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

Result<Q8_0Activations> q8_0_activations() {
  const char* value = std::getenv("SHERRY_Q8_0_ACTIVATIONS");
  const std::string_view text = value != nullptr ? value : "";
  if (text.empty() || text == "float") return Q8_0Activations::kFloat;
  if (text == "int8") return Q8_0Activations::kInt8;
  return make_error(
      "environment variable SHERRY_Q8_0_ACTIVATIONS: expected float or int8, found '{}'", text);
}

namespace {

// The choice for layers made after the loads, which have reported a bad value already.
Q8_0Activations q8_0_activations_or_float() {
  Result<Q8_0Activations> choice = q8_0_activations();
  return choice.ok() ? *choice : Q8_0Activations::kFloat;
}

}  // namespace

void LinearLayer::set_matrix(const FloatMatrix& matrix, Q8_0Activations q8_0) {
  matrix_ = matrix;
  int8_ = runs_on_int8_gemm(matrix.type) &&
          (matrix.type != FloatType::kQ8_0 || q8_0 == Q8_0Activations::kInt8);
  int8_x_ = int8_ ? make_int8_activations(matrix.type, max_tokens_, cols_) : Int8Activations{};
}

Result<LinearLayer> LinearLayer::load(const gguf::Reader& reader, const std::string& name,
                                      int64_t rows, int64_t cols,
                                      const LinearLoadOptions& options) {
  using gguf::TensorType;
  auto info = reader.require_tensor(name, {cols, rows});
  if (!info) return info.error();
  auto q8_0 = q8_0_activations();  // checked for every layer, so a bad value never goes unseen
  if (!q8_0) return q8_0.error();
  LinearLayer layer;
  layer.rows_ = rows;
  layer.cols_ = cols;
  layer.pool_ = options.pool;
  layer.max_tokens_ = options.max_tokens;
  const TensorType type = (*info)->type;
  if (const std::optional<FloatType> float_type = float_type_of(type)) {
    layer.set_matrix({*float_type, rows, cols, (*info)->data}, *q8_0);
    layer.weight_bytes_ = static_cast<int64_t>((*info)->byte_size);
    return layer;
  }

  Result<QuantizedWeights> weights = read_quantized_weights(reader, name, options.stq1_0_grouping);
  if (!weights) return weights.error();
  Result<LinearLayer> built = from_packed(weights->view(), name, options);
  if (!built) return built.error().with_context(reader.path());
  weights->release_mapping();
  return built;
}

Result<QuantizedWeights> read_quantized_weights(const gguf::Reader& reader, const std::string& name,
                                                BlockGrouping stq1_0_grouping) {
  using gguf::TensorType;
  const gguf::TensorInfo* info = reader.find_tensor(name);
  SHERRY_CHECK(info != nullptr, "{}: tensor '{}' was not looked up first", reader.path(), name);
  QuantizedWeights w;
  if (info->type == TensorType::kSherry) {
    auto view = gguf::read_sherry_tensor(reader, name);
    if (!view) return view.error();
    w.mapped = *view;
    return w;
  }
  if (info->type == TensorType::kSTQ1_0 || info->type == TensorType::kSTQ1_0_Released) {
    auto packed = gguf::read_stq1_0_tensor(reader, name, stq1_0_grouping);
    if (!packed) return packed.error();
    w.owned = std::move(*packed);
    return w;
  }
  const auto* traits = gguf::tensor_type_traits(static_cast<uint32_t>(info->type));
  return make_error(
      "{}: tensor '{}': expected type sherry, STQ1_0, F32, F16, BF16, Q8_0, Q4_K, Q5_K or Q6_K, "
      "found {}",
      reader.path(), name, traits != nullptr ? traits->name : "unknown");
}

void QuantizedWeights::release_mapping() const {
  // The kernel keeps its own repacked copy: the mapped codes and scales are not read again.
  if (!mapped) return;
  release_pages(mapped->codes, static_cast<size_t>(mapped->rows * mapped->row_bytes()));
  release_pages(mapped->scales,
                static_cast<size_t>(scale_count(mapped->layout, mapped->rows, mapped->cols)) * 2);
}

Result<LinearLayer> LinearLayer::from_packed(const PackedTensorView& view, const std::string& name,
                                             const LinearLoadOptions& options) {
  LinearLayer layer;
  layer.rows_ = view.rows;
  layer.cols_ = view.cols;
  layer.pool_ = options.pool;
  layer.max_tokens_ = options.max_tokens;
  layer.weight_bytes_ =
      view.rows * view.row_bytes() + scale_count(view.layout, view.rows, view.cols) * 2;
  jit::LinearOptions linear_options;
  linear_options.backend = options.backend;
  linear_options.max_tokens = options.max_tokens;
  linear_options.pool = options.pool;
  linear_options.name = name;
  linear_options.call_buffers = options.call_buffers;
  const auto start = std::chrono::steady_clock::now();
  auto kernel = jit::make_linear(view, linear_options);
  if (options.jit_seconds != nullptr) {
    *options.jit_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (!kernel) return kernel.error();
  layer.kernel_ = std::move(*kernel);
  return layer;
}

LinearLayer LinearLayer::from_float(const FloatMatrix& matrix, ThreadPool* pool,
                                    int64_t max_tokens) {
  LinearLayer layer;
  layer.rows_ = matrix.rows;
  layer.cols_ = matrix.cols;
  layer.pool_ = pool;
  layer.max_tokens_ = max_tokens;
  layer.set_matrix(matrix, q8_0_activations_or_float());
  layer.weight_bytes_ = matrix.rows * matrix.row_bytes();
  return layer;
}

void LinearLayer::repack_q8_0(bool release_source) {
  const bool float_source = matrix_.type == FloatType::kF32 || matrix_.type == FloatType::kF16 ||
                            matrix_.type == FloatType::kBF16;
  if (kernel_ != nullptr || !float_source || cols_ % kQ8_0BlockWeights != 0) return;
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
  set_matrix({FloatType::kQ8_0, rows_, cols_, owned_.data()}, q8_0_activations_or_float());
  weight_bytes_ = rows_ * matrix_.row_bytes();
}

void LinearLayer::forward(const float* x, int64_t n, float* y) {
  if (kernel_ != nullptr) {
    kernel_->forward(x, n, y);
  } else if (int8_) {
    for (int64_t done = 0; done < n; done += max_tokens_) {
      const int64_t count = std::min(max_tokens_, n - done);
      quantize_int8_activations(x + done * cols_, count, int8_x_);
      int8_gemm(matrix_, int8_x_, y + done * rows_, pool_);
    }
  } else {
    float_gemm(matrix_, x, n, y, pool_);
  }
}

void LinearLayer::forward_quantized(const QuantizedActivations& x, float* y) {
  SHERRY_CHECK(kernel_ != nullptr, "forward_quantized on a float layer");
  kernel_->forward_quantized(x, y);
}

std::string LinearLayer::kernel_name() const {
  if (kernel_ != nullptr) return kernel_->kernel_name();
  if (int8_) {
    return std::string("int8_gemm_") + to_string(matrix_.type) + "_" +
           int8_gemm_path(active_float_isa());
  }
  return std::string("float_gemm_") + to_string(matrix_.type) + "_" + float_kernels_isa();
}

void quantize_into(const float* x, int64_t n, int64_t cols, QuantizedActivations& out,
                   ThreadPool* pool) {
  SHERRY_CHECK(static_cast<int64_t>(out.values.size()) >= n * cols &&
               static_cast<int64_t>(out.scales.size()) >= n);
  out.tokens = n;
  out.cols = cols;
  auto body = [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      out.scales[t] = quantize_i8(x + t * cols, cols, out.values.data() + t * cols);
    }
  };
  if (pool != nullptr && pool->size() > 1 && n > 1) {
    pool->parallel_for(n, 1, body);
  } else {
    body(0, n, 0);
  }
}

}  // namespace sherry::runtime
