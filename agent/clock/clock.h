// The agent's one clock. Every timer that depends on certificate time or on configured
// intervals (the rescan, the re-judging of targets when an expiry threshold is crossed, and
// what comes next: probe intervals, the renewal schedule, alert reminders) reads a Clock, so
// a test drives time with ManualClock instead of sleeping for a certificate to age.
//
// Timers that measure the operating system rather than certificate time stay on Asio's
// steady_timer on purpose: the file watcher's debounce (a quiet period of the kernel's
// events), HTTP read/write deadlines and the systemd watchdog.
//
// Thread-safety: a Clock and its timers belong to the io_context's thread; ManualClock's
// advance() must be called there too (post it).
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace certwatch::agent {

// One pending wait at a time, like asio::steady_timer: a new wait cancels the previous one.
class ClockTimer {
 public:
  // `fired` is true when the deadline passed, false when the wait was cancelled (by cancel(),
  // a new wait, or the timer's destruction: then the handler is dropped, never called).
  using Handler = std::function<void(bool fired)>;
  virtual ~ClockTimer() = default;
  virtual void wait_for(std::chrono::milliseconds delay, Handler handler) = 0;
  virtual void cancel() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  // POSIX seconds.
  virtual int64_t now() const = 0;
  virtual std::unique_ptr<ClockTimer> make_timer() = 0;
};

// The system clock; timers are steady_timers on the io_context.
class SystemClock final : public Clock {
 public:
  explicit SystemClock(boost::asio::io_context& io) : io_(io) {}
  int64_t now() const override;
  std::unique_ptr<ClockTimer> make_timer() override;

 private:
  boost::asio::io_context& io_;
};

// Time that moves only when told. Timers whose deadline advance() passes fire (posted to the
// io_context, in deadline order).
class ManualClock final : public Clock {
 public:
  ManualClock(boost::asio::io_context& io, int64_t start_seconds);
  ~ManualClock() override;
  int64_t now() const override;
  std::unique_ptr<ClockTimer> make_timer() override;
  // Moves time forward and fires the timers that became due.
  void advance(std::chrono::milliseconds by);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace certwatch::agent
