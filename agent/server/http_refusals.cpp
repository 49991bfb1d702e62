#include "agent/server/http_refusals.h"

#include <spdlog/spdlog.h>

namespace certwatch::agent {

RefusalLog::RefusalLog(boost::asio::io_context& ioc, std::chrono::milliseconds interval)
    : timer_(ioc), interval_(interval) {}

void RefusalLog::note(const std::string& reason) {
  ++total_;
  if (stopped_) return;
  if (timer_armed_) {
    ++pending_[reason];
    return;
  }
  // The first of a quiet period: say it now, then stay quiet for an interval.
  spdlog::warn("http: refusing a connection: {} (further refusals are summarised every {} s)",
               reason, std::chrono::duration_cast<std::chrono::seconds>(interval_).count());
  arm();
}

void RefusalLog::arm() {
  timer_armed_ = true;
  timer_.expires_after(interval_);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->flush();
  });
}

void RefusalLog::flush() {
  timer_armed_ = false;
  if (stopped_ || pending_.empty()) return;
  std::size_t n = 0;
  std::string why;
  for (const auto& [reason, count] : pending_) {
    n += count;
    if (!why.empty()) why += ", ";
    why += std::to_string(count) + " " + reason;
  }
  pending_.clear();
  spdlog::warn("http: refused {} more connection(s) in the last {} s: {}", n,
               std::chrono::duration_cast<std::chrono::seconds>(interval_).count(), why);
  arm();  // keep summarising while refusals go on; a quiet period ends with a fresh line
}

void RefusalLog::stop() {
  stopped_ = true;
  timer_.cancel();
}

}  // namespace certwatch::agent
