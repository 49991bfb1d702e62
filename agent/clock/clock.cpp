#include "agent/clock/clock.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <ctime>
#include <map>
#include <optional>
#include <vector>

namespace certwatch::agent {
namespace {

class SteadyTimer final : public ClockTimer {
 public:
  explicit SteadyTimer(boost::asio::io_context& io) : timer_(io) {}
  void wait_for(std::chrono::milliseconds delay, Handler handler) override {
    timer_.expires_after(delay);
    timer_.async_wait(
        [handler = std::move(handler)](const boost::system::error_code& ec) { handler(!ec); });
  }
  void cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace

int64_t SystemClock::now() const {
  return static_cast<int64_t>(std::time(nullptr));
}

std::unique_ptr<ClockTimer> SystemClock::make_timer() {
  return std::make_unique<SteadyTimer>(io_);
}

// Shared with the timers, so a timer that outlives its clock (or the reverse) is harmless.
struct ManualClock::State {
  boost::asio::io_context& io;
  int64_t now_ms;
  uint64_t next_id = 0;
  // Pending waits by (deadline ms, id): fired in deadline order, ties in arming order.
  std::map<std::pair<int64_t, uint64_t>, ClockTimer::Handler> waits;
  State(boost::asio::io_context& i, int64_t start_ms) : io(i), now_ms(start_ms) {}
};

namespace {

class ManualTimer final : public ClockTimer {
 public:
  explicit ManualTimer(std::shared_ptr<ManualClock::State> state) : state_(std::move(state)) {}
  ~ManualTimer() override { drop(); }
  void wait_for(std::chrono::milliseconds delay, Handler handler) override {
    cancel();
    key_ = {state_->now_ms + delay.count(), ++state_->next_id};
    state_->waits.emplace(*key_, std::move(handler));
  }
  void cancel() override {
    if (!key_) return;
    auto it = state_->waits.find(*key_);
    key_.reset();
    if (it == state_->waits.end()) return;  // fired already
    auto handler = std::move(it->second);
    state_->waits.erase(it);
    boost::asio::post(state_->io, [handler = std::move(handler)] { handler(false); });
  }

 private:
  // Destruction drops the wait without calling its handler (its owner is going away).
  void drop() {
    if (key_) state_->waits.erase(*key_);
  }
  std::shared_ptr<ManualClock::State> state_;
  std::optional<std::pair<int64_t, uint64_t>> key_;
};

}  // namespace

ManualClock::ManualClock(boost::asio::io_context& io, int64_t start_seconds)
    : state_(std::make_shared<State>(io, start_seconds * 1000)) {}

ManualClock::~ManualClock() = default;

int64_t ManualClock::now() const {
  return state_->now_ms / 1000;
}

std::unique_ptr<ClockTimer> ManualClock::make_timer() {
  return std::make_unique<ManualTimer>(state_);
}

void ManualClock::advance(std::chrono::milliseconds by) {
  state_->now_ms += by.count();
  std::vector<ClockTimer::Handler> due;
  while (!state_->waits.empty() && state_->waits.begin()->first.first <= state_->now_ms) {
    due.push_back(std::move(state_->waits.begin()->second));
    state_->waits.erase(state_->waits.begin());
  }
  for (auto& h : due) boost::asio::post(state_->io, [h = std::move(h)] { h(true); });
}

}  // namespace certwatch::agent
