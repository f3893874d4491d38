// A one-line terminal progress bar with ETA, redrawn in place on stderr.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sherry::train {

class ProgressBar {
 public:
  // total: the last value update() will see; first: where this run starts (a resumed run).
  ProgressBar(int64_t total, int64_t first, bool enabled);
  // done: steps completed; message: extra fields (loss, tok/s) shown after the bar.
  void update(int64_t done, const std::string& message);
  void finish();

  // "1h02m", "3m05s", "12s".
  static std::string format_duration(double seconds);

 private:
  int64_t total_;
  int64_t first_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace sherry::train
