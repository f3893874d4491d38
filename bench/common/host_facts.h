// What every benchmark row records about the machine it ran on: the 1-minute load average (other
// processes slow every timing on these shared 2-core VMs), the UTC time and the CPU's brand string.
// Header-only C++17 with no dependencies, so the llama.cpp harnesses (built by plain g++ in
// scripts/fetch_llama_cpp.sh) share it with bench/kernels and bench/baselines.
#pragma once

#include <cpuid.h>

#include <cstdio>
#include <ctime>
#include <string>

namespace sherry::bench {

// The 1-minute load average, -1 where /proc/loadavg cannot be read.
inline double load_average() {
  double load = -1;
  if (std::FILE* file = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(file, "%lf", &load) != 1) load = -1;
    std::fclose(file);
  }
  return load;
}

// UTC date and time, ISO 8601.
inline std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// The CPU's brand string (cpuid leaves 0x80000002-4), trimmed; "unknown" where there is none.
inline std::string cpu_brand() {
  unsigned regs[12] = {};
  if (__get_cpuid_max(0x80000000u, nullptr) < 0x80000004u) return "unknown";
  for (unsigned leaf = 0; leaf < 3; ++leaf) {
    __get_cpuid(0x80000002u + leaf, &regs[4 * leaf], &regs[4 * leaf + 1], &regs[4 * leaf + 2],
                &regs[4 * leaf + 3]);
  }
  std::string brand(reinterpret_cast<const char*>(regs), sizeof(regs));
  brand = brand.c_str();  // cut at the first NUL
  const size_t first = brand.find_first_not_of(' ');
  const size_t last = brand.find_last_not_of(' ');
  return first == std::string::npos ? "unknown" : brand.substr(first, last - first + 1);
}

}  // namespace sherry::bench
