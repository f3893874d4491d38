// Error handling, three kinds (see docs/architecture.md):
//  * user and data errors travel as a value: Result<T> holding either T or an Error whose message
//    names the file, the object, the expectation and what was found;
//  * internal invariants are always-on SHERRY_CHECKs that abort with file and line;
//  * plain assert() only inside hot loops.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace sherry {

class Error {
 public:
  explicit Error(std::string message) : message_(std::move(message)) {}
  const std::string& message() const { return message_; }
  // Prefixes context ("reading model.gguf: ") to an error travelling outwards.
  Error with_context(const std::string& context) const { return Error(context + ": " + message_); }

 private:
  std::string message_;
};

template <class... Args>
Error make_error(fmt::format_string<Args...> format, Args&&... args) {
  return Error(fmt::format(format, std::forward<Args>(args)...));
}

// Either a value or an Error. Accessing the wrong alternative is an internal bug and aborts.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return checked_value(); }
  const T& value() const& { return const_cast<Result*>(this)->checked_value(); }
  T&& value() && { return std::move(checked_value()); }
  T& operator*() & { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    if (ok()) abort_wrong_access("error() on a Result holding a value");
    return std::get<1>(state_);
  }

 private:
  T& checked_value() {
    if (!ok())
      abort_wrong_access(
          ("value() on a Result holding an error: " + std::get<1>(state_).message()).c_str());
    return std::get<0>(state_);
  }
  [[noreturn]] static void abort_wrong_access(const char* what) {
    std::fprintf(stderr, "sherry internal error: %s\n", what);
    std::abort();
  }
  std::variant<T, Error> state_;
};

// Result for operations that produce nothing but can fail.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  static Status success() { return Status(); }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

[[noreturn]] inline void internal_check_failed(const char* file, int line, const char* condition,
                                               const std::string& detail) {
  std::fprintf(stderr, "sherry internal error at %s:%d: check `%s` failed%s%s\n", file, line,
               condition, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

}  // namespace sherry

// Always-on invariant check (not for user input: that returns an Error).
#define SHERRY_CHECK(condition, ...)                                                \
  do {                                                                              \
    if (!(condition)) [[unlikely]]                                                  \
      ::sherry::internal_check_failed(__FILE__, __LINE__, #condition,               \
                                      ::sherry::detail_check_message(__VA_ARGS__)); \
  } while (0)

namespace sherry {
inline std::string detail_check_message() {
  return {};
}
template <class... Args>
std::string detail_check_message(fmt::format_string<Args...> format, Args&&... args) {
  return fmt::format(format, std::forward<Args>(args)...);
}
}  // namespace sherry

// Propagates an Error from a Result/Status expression out of the current function.
#define SHERRY_TRY(expression)                                       \
  do {                                                               \
    auto&& sherry_try_result_ = (expression);                        \
    if (!sherry_try_result_.ok()) return sherry_try_result_.error(); \
  } while (0)
