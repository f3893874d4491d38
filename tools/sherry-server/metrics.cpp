#include "tools/sherry-server/metrics.h"

#include <fmt/format.h>

namespace sherry::server {

void Metrics::request_answered(const std::string& route, int status) {
  std::lock_guard lock(mutex_);
  requests_[{route, status}] += 1;
}

void Metrics::decode_step(double seconds, int64_t tokens) {
  std::lock_guard lock(mutex_);
  decode_seconds_ += seconds;
  decode_tokens_ += tokens;
}

std::string Metrics::prometheus(const SchedulerGauges& gauges) const {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  std::lock_guard lock(mutex_);
  metric("sherry_requests_total", "counter", "HTTP requests answered, by route and status.");
  for (const auto& [key, count] : requests_) {
    out += fmt::format("sherry_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first,
                       key.second, count);
  }
  metric("sherry_requests_rejected_total", "counter",
         "Generation requests answered 429 because the queue was full.");
  out += fmt::format("sherry_requests_rejected_total {}\n", rejected_.load());
  metric("sherry_prompt_tokens_total", "counter", "Prompt tokens of the generation requests.");
  out += fmt::format("sherry_prompt_tokens_total {}\n", prompt_tokens_.load());
  metric("sherry_prompt_tokens_cached_total", "counter",
         "Prompt tokens found in a slot's KV cache and not computed again.");
  out += fmt::format("sherry_prompt_tokens_cached_total {}\n", cached_tokens_.load());
  metric("sherry_generated_tokens_total", "counter", "Tokens generated.");
  out += fmt::format("sherry_generated_tokens_total {}\n", generated_tokens_.load());
  metric("sherry_decode_seconds_total", "counter",
         "Seconds the decode loop spent in forward passes and sampling.");
  out += fmt::format("sherry_decode_seconds_total {:.6f}\n", decode_seconds_);
  metric("sherry_tokens_per_second", "gauge",
         "Generated tokens per second of decode-loop time, since the start.");
  out += fmt::format(
      "sherry_tokens_per_second {:.3f}\n",
      decode_seconds_ > 0 ? static_cast<double>(generated_tokens_.load()) / decode_seconds_ : 0.0);
  metric("sherry_forward_tokens_total", "counter",
         "Tokens run through forward passes (prompt and generated).");
  out += fmt::format("sherry_forward_tokens_total {}\n", decode_tokens_);
  metric("sherry_queue_depth", "gauge", "Generation requests waiting for a slot.");
  out += fmt::format("sherry_queue_depth {}\n", gauges.queued);
  metric("sherry_slots_busy", "gauge", "Slots generating.");
  out += fmt::format("sherry_slots_busy {}\n", gauges.busy_slots);
  metric("sherry_slots", "gauge", "Slots (-np).");
  out += fmt::format("sherry_slots {}\n", gauges.slots);
  return out;
}

}  // namespace sherry::server
