// Refused HTTP connections, logged without flooding the journal: the first refusal of a quiet
// period is logged at once with its reason; the ones after it are counted and summarised in
// one line per interval ("http: refused 166 more connections in the last 60 s: ..."), and
// nothing is logged while nobody is refused. Runs on the io_context's thread.
#pragma once

#include <utility>  // before Boost.Asio (see http_server.h)

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>

namespace certwatch::agent {

class RefusalLog : public std::enable_shared_from_this<RefusalLog> {
 public:
  RefusalLog(boost::asio::io_context& ioc, std::chrono::milliseconds interval);
  // One refused connection; `reason` is a short fixed text ("per-client cap 16 reached").
  void note(const std::string& reason);
  void stop();
  std::size_t total() const { return total_; }

 private:
  void arm();
  void flush();

  boost::asio::steady_timer timer_;
  std::chrono::milliseconds interval_;
  std::map<std::string, std::size_t> pending_;  // reason -> refusals since the last line
  bool timer_armed_ = false;
  bool stopped_ = false;
  std::size_t total_ = 0;
};

}  // namespace certwatch::agent
