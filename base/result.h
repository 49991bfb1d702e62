// The one error model: functions that can fail on input return Result<T>. An Error carries a
// human message and a kind that callers test (never the message text); exceptions are
// converted to it at the edge of a throwing library. pki messages name no CLI flags: when an
// error is about one field of a request, `input` names that field as the message's first words
// do, so a front end can put its own spelling (a flag, a config key) in their place; `fix`
// names the request field that would resolve the error, for the front end's own hint.
#pragma once

#include <utility>

#include <cassert>
#include <string>
#include <variant>

namespace certwatch {

enum class ErrorKind {
  failed,         // anything not sorted below
  invalid_input,  // the request itself is wrong (a malformed DN, a bad name, a negative number)
  not_found,      // what the request names is not there (an unknown CA, no ledger match)
  exists,         // an output is already there and replacing it was not asked for
  io,             // reading or writing a file failed
  crypto,         // OpenSSL failed or refused (a wrong passphrase, a key that does not match)
  refused,        // valid input the issuer will not do (beyond the issuer's validity, pathlen)
};

struct Error {
  std::string message;
  ErrorKind kind = ErrorKind::failed;
  std::string input;  // the request field the message starts with ("subject", "name"...), or ""
  std::string fix;    // the request field that resolves it ("validity", "name", "serial"), or ""
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

// Result<void>.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

inline Error make_error(std::string message, ErrorKind kind = ErrorKind::failed,
                        std::string input = {}, std::string fix = {}) {
  return Error{std::move(message), kind, std::move(input), std::move(fix)};
}

}  // namespace certwatch
