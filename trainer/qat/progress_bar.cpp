#include "trainer/qat/progress_bar.h"

#include <cstdio>

#include <unistd.h>

#include <fmt/format.h>

namespace sherry::train {

ProgressBar::ProgressBar(int64_t total, int64_t first, bool enabled)
    : total_(total),
      first_(first),
      enabled_(enabled),
      in_place_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

std::string ProgressBar::format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

void ProgressBar::update(int64_t done, const std::string& message) {
  if (!enabled_) return;
  constexpr int kWidth = 30;
  const double fraction =
      total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  const int filled = static_cast<int>(fraction * kWidth);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t run_done = done - first_;
  const double eta =
      run_done > 0 ? elapsed / static_cast<double>(run_done) * static_cast<double>(total_ - done)
                   : 0.0;
  if (!in_place_) {
    if (done < total_ && last_line_ >= 0.0 && elapsed - last_line_ < kLinePeriodSeconds) return;
    last_line_ = elapsed;
    std::fprintf(stderr, "step %lld/%lld (%.0f%%) %s elapsed %s ETA %s\n",
                 static_cast<long long>(done), static_cast<long long>(total_), 100.0 * fraction,
                 message.c_str(), format_duration(elapsed).c_str(), format_duration(eta).c_str());
    std::fflush(stderr);
    return;
  }
  std::string bar(filled, '=');
  if (filled < kWidth) bar += '>' + std::string(kWidth - filled - 1, ' ');
  std::fprintf(stderr, "\r%6lld/%lld [%s] %s elapsed %s ETA %s   ", static_cast<long long>(done),
               static_cast<long long>(total_), bar.c_str(), message.c_str(),
               format_duration(elapsed).c_str(), format_duration(eta).c_str());
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (enabled_ && in_place_) std::fprintf(stderr, "\n");
}

}  // namespace sherry::train
