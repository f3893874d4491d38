// Progress with ETA on stderr: a one-line bar redrawn in place on a terminal; elsewhere (a log
// file, a pipe, CI) one plain line at most every kLinePeriodSeconds and at the end.
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
  static constexpr double kLinePeriodSeconds = 15.0;

  int64_t total_;
  int64_t first_;
  bool enabled_;
  bool in_place_;  // stderr is a terminal
  std::chrono::steady_clock::time_point start_;
  double last_line_ = -1.0;  // elapsed seconds at the last plain line
};

}  // namespace sherry::train
