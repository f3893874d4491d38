// The server's counters, read by GET /metrics in Prometheus' text format (version 0.0.4):
// requests answered by route and status, prompt and generated tokens, decode time (and so
// tokens/s), requests waiting in the queue, slots busy. Updated from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace sherry::server {

// What the scheduler reports at the time of a scrape.
struct SchedulerGauges {
  int64_t slots = 0;
  int64_t busy_slots = 0;
  int64_t queued = 0;
};

class Metrics {
 public:
  void request_answered(const std::string& route, int status);
  void prompt_tokens(int64_t n) { prompt_tokens_ += n; }
  void cached_tokens(int64_t n) { cached_tokens_ += n; }
  void generated_tokens(int64_t n) { generated_tokens_ += n; }
  // One decode step of the scheduler: `seconds` of forward passes and sampling.
  void decode_step(double seconds, int64_t tokens);
  void rejected_full_queue() { rejected_ += 1; }

  std::string prometheus(const SchedulerGauges& gauges) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // (route, status) → count
  std::atomic<int64_t> prompt_tokens_{0};
  std::atomic<int64_t> cached_tokens_{0};
  std::atomic<int64_t> generated_tokens_{0};
  std::atomic<int64_t> rejected_{0};
  double decode_seconds_ = 0;  // under mutex_
  int64_t decode_tokens_ = 0;  // tokens run through forward passes, under mutex_
};

}  // namespace sherry::server
