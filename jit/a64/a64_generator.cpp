#include "jit/a64/a64_generator.h"

#include <utility>

namespace sherry::jit::a64 {

namespace aj = asmjit;
using namespace asmjit::a64;  // NOLINT: register names (x0, d8, sp, ...) read like assembly

// Bytes the prologue stores below the scratch area: d8..d15 (AAPCS64 callee-saved low halves).
constexpr int64_t kSavedVectorBytes = 64;

const CodeMark* A64Code::mark(std::string_view mark_name) const {
  for (const CodeMark& m : marks) {
    if (m.name == mark_name) return &m;
  }
  return nullptr;
}

class A64Generator::ErrorCollector final : public aj::ErrorHandler {
 public:
  void handleError(aj::Error error, const char* message, aj::BaseEmitter*) override {
    if (first_.empty()) first_ = fmt::format("asmjit error {}: {}", error, message);
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

A64Generator::A64Generator(std::string name, bool with_listing)
    : name_(std::move(name)),
      code_(std::make_unique<aj::CodeHolder>()),
      errors_(std::make_unique<ErrorCollector>()) {
  code_->init(aj::Environment(aj::Arch::kAArch64));
  code_->setErrorHandler(errors_.get());
  if (with_listing) {
    logger_ = std::make_unique<aj::StringLogger>();
    logger_->addFlags(aj::FormatFlags::kHexImms | aj::FormatFlags::kHexOffsets);
    code_->setLogger(logger_.get());
  }
  assembler_ = std::make_unique<Assembler>(code_.get());
}

A64Generator::~A64Generator() = default;

void A64Generator::prologue(int64_t scratch_bytes) {
  frame_bytes_ = kSavedVectorBytes + (scratch_bytes + 15) / 16 * 16;
  SHERRY_CHECK(frame_bytes_ <= 4080, "{}: stack frame of {} bytes", name_, frame_bytes_);
  as().sub(sp, sp, frame_bytes_);
  as().stp(d8, d9, ptr(sp, 0));
  as().stp(d10, d11, ptr(sp, 16));
  as().stp(d12, d13, ptr(sp, 32));
  as().stp(d14, d15, ptr(sp, 48));
}

void A64Generator::epilogue() {
  as().ldp(d8, d9, ptr(sp, 0));
  as().ldp(d10, d11, ptr(sp, 16));
  as().ldp(d12, d13, ptr(sp, 32));
  as().ldp(d14, d15, ptr(sp, 48));
  as().add(sp, sp, frame_bytes_);
  as().ret(x30);
}

void A64Generator::mov_imm(const GpX& reg, uint64_t value) {
  as().movz(reg, value & 0xFFFF);
  for (int shift = 16; shift < 64; shift += 16) {
    const uint64_t part = (value >> shift) & 0xFFFF;
    if (part != 0) as().movk(reg, part, lsl(shift));
  }
}

void A64Generator::add_imm(const GpX& reg, int64_t value, const GpX& tmp) {
  SHERRY_CHECK(value >= 0, "{}: add_imm of {}", name_, value);
  if (value == 0) return;
  if (value < 4096) {
    as().add(reg, reg, value);
  } else {
    mov_imm(tmp, static_cast<uint64_t>(value));
    as().add(reg, reg, tmp);
  }
}

void A64Generator::sdot_lane(const Vec& acc, const Vec& w, const Vec& x, uint32_t lane) {
  if (logger_) code_->resetLogger();
  as().sdot(acc.s4(), w.b16(), x.b4(lane));
  if (logger_) {
    code_->setLogger(logger_.get());
    logger_->logf("sdot v%u.4s, v%u.16b, v%u.4b[%u]\n", acc.id(), w.id(), x.id(), lane);
  }
}

void A64Generator::begin_mark(std::string name) {
  const auto offset = static_cast<int64_t>(as().offset());
  marks_.push_back(CodeMark{std::move(name), offset, offset});
}

void A64Generator::end_mark(std::string_view mark_name) {
  for (CodeMark& m : marks_) {
    if (m.name == mark_name) m.end = static_cast<int64_t>(as().offset());
  }
}

Result<A64Code> A64Generator::finish() {
  if (errors_->first().empty()) code_->flatten();
  if (errors_->first().empty()) code_->resolveUnresolvedLinks();
  if (!errors_->first().empty()) {
    return make_error("generating AArch64 kernel {}: {}", name_, errors_->first());
  }
  A64Code out;
  out.name = name_;
  out.bytes.resize(code_->codeSize());
  const aj::Error copied = code_->copyFlattenedData(out.bytes.data(), out.bytes.size());
  if (copied != aj::kErrorOk) {
    return make_error("generating AArch64 kernel {}: asmjit error {} copying the code", name_,
                      copied);
  }
  if (logger_) out.listing.assign(logger_->data(), logger_->dataSize());
  out.marks = marks_;
  return out;
}

}  // namespace sherry::jit::a64
