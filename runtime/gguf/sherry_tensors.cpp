#include "runtime/gguf/sherry_tensors.h"

#include <algorithm>
#include <cstring>

#include "core/half.h"
#include "core/stq1_0.h"

namespace sherry::gguf {
namespace {

constexpr std::string_view kWeightSuffix = ".weight";

std::span<const uint8_t> as_bytes(const void* data, size_t size) {
  return {static_cast<const uint8_t*>(data), size};
}

// The 2-D tensor `name` of one of `types`; errors name the file and the tensor.
Result<const TensorInfo*> find_matrix(const Reader& reader, std::string_view name,
                                      std::initializer_list<TensorType> types,
                                      std::string_view expected) {
  const TensorInfo* info = reader.find_tensor(name);
  if (info == nullptr) {
    return make_error("{}: tensor '{}': expected a {} matrix, found no such tensor", reader.path(),
                      name, expected);
  }
  if (std::find(types.begin(), types.end(), info->type) == types.end()) {
    return make_error("{}: tensor '{}': expected type {}, found {}", reader.path(), name, expected,
                      tensor_type_name(info->type));
  }
  if (info->shape.size() != 2) {
    return make_error("{}: tensor '{}': expected 2 dimensions [cols, rows], found shape {}",
                      reader.path(), name, shape_string(info->shape));
  }
  return info;
}

// Checks `grouping` against the one the file already declares under `key`, if any.
Status check_grouping(const Writer& writer, std::string_view key, std::string_view name,
                      BlockGrouping grouping) {
  const std::string_view text = to_string(grouping);
  if (const Value* declared = writer.find(key)) {
    const std::string* have = declared->as_string();
    if (have == nullptr || *have != text) {
      return make_error("tensor '{}': expected the file's block grouping '{}' ({}), found '{}'",
                        name, have ? *have : std::string("?"), key, text);
    }
  }
  return {};
}

}  // namespace

std::string scale_tensor_name(std::string_view weight_name) {
  if (weight_name.ends_with(kWeightSuffix)) weight_name.remove_suffix(kWeightSuffix.size());
  return fmt::format("{}.scale", weight_name);
}

Status add_sherry_tensor(Writer& writer, std::string_view weight_name,
                         const PackedTensorView& tensor) {
  SHERRY_TRY(validate_layout(tensor.layout, tensor.rows, tensor.cols, weight_name));
  const TensorTypeTraits& traits = *tensor_type_traits(TensorType::kSherry);
  if (tensor.cols % traits.block_weights != 0) {
    return make_error(
        "tensor '{}': expected cols to be a multiple of {} (the sherry GGUF block), found {}",
        weight_name, traits.block_weights, tensor.cols);
  }
  const std::string scale_name = scale_tensor_name(weight_name);
  for (const std::string_view name : {weight_name, std::string_view(scale_name)}) {
    if (writer.has_tensor(name)) {
      return make_error("tensor '{}': expected a new tensor name, found one already added", name);
    }
  }
  SHERRY_TRY(check_grouping(writer, kSherryBlockGroupingKey, weight_name, tensor.layout.grouping));
  writer.set_uint32(std::string(kSherryFormatVersionKey), kSherryFormatVersion);
  writer.set_string(std::string(kSherryBlockGroupingKey),
                    std::string(to_string(tensor.layout.grouping)));

  const auto code_bytes = static_cast<size_t>(tensor.rows * tensor.row_bytes());
  writer.add_tensor(std::string(weight_name), TensorType::kSherry, {tensor.cols, tensor.rows},
                    as_bytes(tensor.codes, code_bytes));
  const int64_t scales = scale_count(tensor.layout, tensor.rows, tensor.cols);
  std::vector<int64_t> scale_shape = {1};
  if (tensor.layout.granularity != ScaleGranularity::kTensor) {
    scale_shape = {scale_groups_per_row(tensor.layout, tensor.cols), tensor.rows};
  }
  writer.add_tensor(scale_name, TensorType::kF16, std::move(scale_shape),
                    as_bytes(tensor.scales, static_cast<size_t>(scales) * sizeof(uint16_t)));
  return {};
}

Result<PackedTensorView> read_sherry_tensor(const Reader& reader, std::string_view weight_name) {
  const std::string& file = reader.path();
  const Value* version = reader.find(kSherryFormatVersionKey);
  if (version == nullptr || version->as_int() != std::optional<int64_t>(kSherryFormatVersion)) {
    const std::string found = version == nullptr  ? std::string("no such key")
                              : version->as_int() ? fmt::format("{}", *version->as_int())
                                                  : value_type_name(version->type);
    return make_error("{}: key '{}' (needed by tensor '{}'): expected {}, found {}", file,
                      kSherryFormatVersionKey, weight_name, kSherryFormatVersion, found);
  }
  auto grouping_text = reader.get_string(kSherryBlockGroupingKey);
  if (!grouping_text) return grouping_text.error();
  auto grouping = parse_block_grouping(*grouping_text);
  if (!grouping) {
    return grouping.error().with_context(
        fmt::format("{}: key '{}'", file, kSherryBlockGroupingKey));
  }

  auto weight = find_matrix(reader, weight_name, {TensorType::kSherry}, "sherry");
  if (!weight) return weight.error();
  const int64_t cols = (*weight)->shape[0];
  const int64_t rows = (*weight)->shape[1];

  const std::string scale_name = scale_tensor_name(weight_name);
  const TensorInfo* scale = reader.find_tensor(scale_name);
  if (scale == nullptr) {
    return make_error("{}: tensor '{}': expected its F16 scale tensor '{}', found no such tensor",
                      file, weight_name, scale_name);
  }
  if (scale->type != TensorType::kF16) {
    return make_error("{}: tensor '{}': expected type F16, found {}", file, scale_name,
                      tensor_type_name(scale->type));
  }
  WeightLayout layout;
  layout.grouping = *grouping;
  if (scale->shape == std::vector<int64_t>{1}) {
    layout.granularity = ScaleGranularity::kTensor;
  } else if (scale->shape.size() == 2 && scale->shape[1] == rows && cols % scale->shape[0] == 0) {
    const int64_t groups = scale->shape[0];
    layout.granularity = groups == 1 ? ScaleGranularity::kChannel : ScaleGranularity::kGroup;
    layout.group_size = cols / groups;
  } else {
    return make_error(
        "{}: tensor '{}': expected shape [1] or [groups, {}] with groups dividing {} (for '{}' of "
        "shape "
        "[{}, {}]), found {}",
        file, scale_name, rows, cols, weight_name, cols, rows, shape_string(scale->shape));
  }
  if (Status s = validate_layout(layout, rows, cols, weight_name); !s) {
    return s.error().with_context(fmt::format("{}: scales '{}'", file, scale_name));
  }
  if (reinterpret_cast<uintptr_t>(scale->data) % alignof(uint16_t) != 0) {
    return make_error("{}: tensor '{}': expected data aligned to 2 bytes, found an odd address",
                      file, scale_name);
  }
  const auto* scales = reinterpret_cast<const uint16_t*>(scale->data);
  const int64_t count = scale->element_count();
  for (int64_t i = 0; i < count; ++i) {
    if ((scales[i] & 0x7C00) == 0x7C00) {  // exponent all ones: inf or NaN
      return make_error("{}: tensor '{}': expected finite scales, found {} at index {}", file,
                        scale_name, fp16_to_float(scales[i]), i);
    }
  }
  PackedTensorView view;
  view.rows = rows;
  view.cols = cols;
  view.layout = layout;
  view.codes = (*weight)->data;
  view.scales = scales;
  return view;
}

Status add_stq1_0_tensor(Writer& writer, std::string_view name, const PackedTensorView& tensor,
                         TensorType type) {
  SHERRY_CHECK(type == TensorType::kSTQ1_0 || type == TensorType::kSTQ1_0_Released,
               "STQ1_0 tensor '{}' with type {}", name, tensor_type_name(type));
  if (writer.has_tensor(name)) {
    return make_error("tensor '{}': expected a new tensor name, found one already added", name);
  }
  auto blocks = pack_stq1_0(tensor, name);
  if (!blocks) return blocks.error();
  SHERRY_TRY(check_grouping(writer, kStq1_0BlockGroupingKey, name, tensor.layout.grouping));
  writer.set_string(std::string(kStq1_0BlockGroupingKey),
                    std::string(to_string(tensor.layout.grouping)));
  writer.add_tensor(std::string(name), type, {tensor.cols, tensor.rows},
                    as_bytes(blocks->data(), blocks->size() * sizeof(Stq1_0Block)));
  return {};
}

Result<BlockGrouping> stq1_0_grouping(const Reader& reader, std::optional<BlockGrouping> fallback) {
  if (reader.find(kStq1_0BlockGroupingKey) == nullptr) {
    return fallback.value_or(BlockGrouping::kStride16);
  }
  auto text = reader.get_string(kStq1_0BlockGroupingKey);
  if (!text) return text.error();
  auto grouping = parse_block_grouping(*text);
  if (!grouping) {
    return grouping.error().with_context(
        fmt::format("{}: key '{}'", reader.path(), kStq1_0BlockGroupingKey));
  }
  if (fallback && *fallback != *grouping) {
    return make_error(
        "{}: key '{}': the file declares block grouping '{}', found --stq1-0-grouping {} (the "
        "option is for files that do not say)",
        reader.path(), kStq1_0BlockGroupingKey, *text, to_string(*fallback));
  }
  return *grouping;
}

Result<PackedTensor> read_stq1_0_tensor(const Reader& reader, std::string_view name,
                                        BlockGrouping grouping) {
  auto info =
      find_matrix(reader, name, {TensorType::kSTQ1_0, TensorType::kSTQ1_0_Released}, "STQ1_0");
  if (!info) return info.error();
  const int64_t cols = (*info)->shape[0];
  const int64_t rows = (*info)->shape[1];
  // Copied: the 42-byte blocks need not be 2-byte aligned in the file.
  std::vector<Stq1_0Block> blocks(static_cast<size_t>(rows * (cols / kStq1_0BlockWeights)));
  std::memcpy(blocks.data(), (*info)->data, (*info)->byte_size);
  auto packed = unpack_stq1_0(blocks.data(), rows, cols, name, grouping);
  if (!packed) return packed.error().with_context(reader.path());
  return packed;
}

Result<std::vector<float>> read_float_tensor(const Reader& reader, std::string_view name) {
  const TensorInfo* info = reader.find_tensor(name);
  if (info == nullptr) {
    return make_error("{}: tensor '{}': expected an F32, F16 or BF16 tensor, found no such tensor",
                      reader.path(), name);
  }
  return read_float_tensor(reader, *info);
}

Result<std::vector<float>> read_float_tensor(const Reader& reader, const TensorInfo& info) {
  const auto count = static_cast<size_t>(info.element_count());
  std::vector<float> out(count);
  switch (info.type) {
    case TensorType::kF32:
      std::memcpy(out.data(), info.data, count * sizeof(float));
      return out;
    case TensorType::kF16:
    case TensorType::kBF16: {
      std::vector<uint16_t> bits(count);
      std::memcpy(bits.data(), info.data, count * sizeof(uint16_t));
      const bool f16 = info.type == TensorType::kF16;
      for (size_t i = 0; i < count; ++i)
        out[i] = f16 ? fp16_to_float(bits[i]) : bf16_to_float(bits[i]);
      return out;
    }
    default:
      return make_error("{}: tensor '{}': expected type F32, F16 or BF16, found {}", reader.path(),
                        info.name, tensor_type_name(info.type));
  }
}

void add_float_tensor(Writer& writer, std::string name, TensorType type, std::vector<int64_t> shape,
                      std::span<const float> values) {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  SHERRY_CHECK(static_cast<int64_t>(values.size()) == count, "tensor '{}': {} values for shape {}",
               name, values.size(), shape_string(shape));
  switch (type) {
    case TensorType::kF32:
      writer.add_tensor(std::move(name), type, std::move(shape),
                        as_bytes(values.data(), values.size_bytes()));
      return;
    case TensorType::kF16:
    case TensorType::kBF16: {
      std::vector<uint16_t> bits(values.size());
      for (size_t i = 0; i < values.size(); ++i) {
        bits[i] = type == TensorType::kF16 ? float_to_fp16(values[i]) : float_to_bf16(values[i]);
      }
      writer.add_tensor(std::move(name), type, std::move(shape),
                        as_bytes(bits.data(), bits.size() * sizeof(uint16_t)));
      return;
    }
    default:
      SHERRY_CHECK(false, "tensor '{}': add_float_tensor with type {}", name,
                   tensor_type_name(type));
  }
}

}  // namespace sherry::gguf
