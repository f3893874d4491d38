// The per-call buffers of jit::KernelLinear: the tokens' tables (activations), the kernels'
// outputs, the prologue's scratch and the kernels' workspace. Each grows to the largest call
// made with it and never shrinks.
//
// Layers that never run at the same time can share one set: a model's layers run one after
// another, so one set sized for its largest call serves them all, where a set per layer held
// ~13 MB per layer of the 1B shape after a 64-token prefill (~200 MB for 16 layers, zero-filled
// page by page on the first prefill: most of its 0.6 s over a warm one). A layer made without one
// gets its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "jit/aligned_buffer.h"

namespace sherry::jit {

struct CallBuffers {
  AlignedBuffer<uint8_t> activations;  // tables / dot records of the call's tokens
  AlignedBuffer<uint8_t> out;          // kernel outputs
  AlignedBuffer<int8_t> scratch;       // threads × the prologue's scratch
  AlignedBuffer<uint8_t> workspace;    // threads × the kernels' workspace
  // Set while a layer uses the buffers: a second layer running at the same time on the same
  // set (a caller's bug, which would mix their tables) is an error, not wrong numbers.
  std::atomic<bool> in_use{false};
};

// Holds `buffers` for one call.
class CallBuffersLease {
 public:
  CallBuffersLease(CallBuffers& buffers, const std::string& layer) : buffers_(buffers) {
    SHERRY_CHECK(!buffers_.in_use.exchange(true, std::memory_order_acquire),
                 "{}: its call buffers are in use by another layer at the same time (layers that "
                 "share CallBuffers must run one after another)",
                 layer);
  }
  ~CallBuffersLease() { buffers_.in_use.store(false, std::memory_order_release); }
  CallBuffersLease(const CallBuffersLease&) = delete;
  CallBuffersLease& operator=(const CallBuffersLease&) = delete;

 private:
  CallBuffers& buffers_;
};

}  // namespace sherry::jit
