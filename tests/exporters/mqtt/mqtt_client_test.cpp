// No exception crosses a Paho callback or the work it posts to the loop: a report that cannot
// be posted, and a handler that throws, both become a certwatch::Error on the loop's thread.
// Paho is real; the broker is a refused port on loopback, so every connect attempt fails fast.
#include "exporters/mqtt/mqtt_client.h"

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.h"

namespace mq = certwatch::exporters::mqtt;

namespace {

// The loop of these tests: Paho's threads post here, the test thread runs what they posted.
struct MqttClientTestLoop {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::function<void()>> work;
  int posts = 0;       // post() calls, thrown ones included
  int throw_left = 0;  // the next post() calls that throw std::bad_alloc

  mq::MqttClient::Post post() {
    return [this](std::function<void()> fn) {
      std::lock_guard lock(m);
      ++posts;
      cv.notify_all();
      if (throw_left > 0) {
        --throw_left;
        throw std::bad_alloc();
      }
      work.push_back(std::move(fn));
    };
  }
  // Waits (real time: Paho's threads answer) until `posts` reaches n.
  bool wait_posts(int n) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, std::chrono::seconds(20), [&] { return posts >= n; });
  }
  void run() {
    for (;;) {
      std::function<void()> fn;
      {
        std::lock_guard lock(m);
        if (work.empty()) return;
        fn = std::move(work.front());
        work.pop_front();
      }
      fn();
    }
  }
};

mq::MqttClientOptions refused_broker_options(const testing::TempDir& dir) {
  mq::MqttClientOptions o;
  o.broker = "mqtt://127.0.0.1:1";
  o.client_id = "certwatch-test";
  o.persistence_dir = dir / "paho";
  o.will_topic = "certwatch/test/status";
  o.connect_timeout = std::chrono::seconds(5);
  return o;
}

}  // namespace

TEST_CASE("MQTT client: a connect outcome that cannot be posted is said on the loop later",
          "[exporters][mqtt]") {
  testing::TempDir dir;
  MqttClientTestLoop loop;
  loop.throw_left = 1;
  std::vector<std::string> errors;
  std::vector<std::optional<std::string>> failures;
  mq::MqttClientEvents ev;
  ev.connect_failed = [&](const mq::ConnectFailure& f) { failures.push_back(f.why); };
  ev.failed = [&](const certwatch::Error& e) { errors.push_back(e.message); };
  auto client = mq::MqttClient::create(refused_broker_options(dir), loop.post(), std::move(ev));
  REQUIRE(client);
  (*client)->connect();
  // Paho's thread reports the refusal; its post throws, and Paho's thread goes on.
  REQUIRE(loop.wait_posts(1));
  loop.run();
  CHECK(errors.empty());
  CHECK(failures.empty());
  // A publish() has the loss said on a later turn of the loop, and the lost outcome arrives as
  // a failed connect, so that the caller retries. Paho's thread counts the loss only after
  // the throw returned to it: publish until the loop hears of it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (errors.empty() && std::chrono::steady_clock::now() < deadline) {
    REQUIRE((*client)->publish("certwatch/test/events", "{}", mq::Retain::no));
    loop.run();
    if (errors.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "1 report(s) from Paho's threads could not be posted");
  REQUIRE(failures.size() == 1);
  CHECK(failures[0] == std::optional<std::string>("the outcome of a connect attempt was lost"));
}

TEST_CASE("MQTT client: a handler that throws becomes an Error, not an exception in the loop",
          "[exporters][mqtt]") {
  testing::TempDir dir;
  MqttClientTestLoop loop;
  std::vector<std::string> errors;
  mq::MqttClientEvents ev;
  ev.connect_failed = [](const mq::ConnectFailure&) -> void {
    throw std::runtime_error("the handler broke");
  };
  ev.failed = [&](const certwatch::Error& e) { errors.push_back(e.message); };
  auto client = mq::MqttClient::create(refused_broker_options(dir), loop.post(), std::move(ev));
  REQUIRE(client);
  (*client)->connect();
  REQUIRE(loop.wait_posts(1));
  REQUIRE_NOTHROW(loop.run());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "client event: the handler broke");
}

TEST_CASE("MQTT client: a refused TCP connect fails with no reason, for the caller to diagnose",
          "[exporters][mqtt]") {
  testing::TempDir dir;
  MqttClientTestLoop loop;
  std::vector<mq::ConnectFailure> failures;
  std::vector<std::string> errors;
  mq::MqttClientEvents ev;
  ev.connect_failed = [&](const mq::ConnectFailure& f) { failures.push_back(f); };
  ev.failed = [&](const certwatch::Error& e) { errors.push_back(e.message); };
  auto client = mq::MqttClient::create(refused_broker_options(dir), loop.post(), std::move(ev));
  REQUIRE(client);
  (*client)->connect();
  REQUIRE(loop.wait_posts(1));
  loop.run();
  REQUIRE(failures.size() == 1);
  CHECK_FALSE(failures[0].why.has_value());
  CHECK_FALSE(failures[0].unanswered);  // refused at once: an answer, not silence
  CHECK(errors.empty());
}

TEST_CASE("MQTT client: a broker that accepts and never answers is told apart as unanswered",
          "[exporters][mqtt]") {
  testing::TempDir dir;
  MqttClientTestLoop loop;
  // A listening socket nobody accepts on: the kernel completes the TCP handshake, no byte comes.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::vector<mq::ConnectFailure> failures;
  mq::MqttClientEvents ev;
  ev.connect_failed = [&](const mq::ConnectFailure& f) { failures.push_back(f); };
  auto options = refused_broker_options(dir);
  options.broker = "mqtt://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  options.connect_timeout = std::chrono::seconds(2);
  const auto started = std::chrono::steady_clock::now();
  auto client = mq::MqttClient::create(options, loop.post(), std::move(ev));
  REQUIRE(client);
  (*client)->connect();
  REQUIRE(loop.wait_posts(1));
  loop.run();
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(1500));
  REQUIRE(failures.size() == 1);
  CHECK_FALSE(failures[0].why.has_value());
  CHECK(failures[0].unanswered);
}
