// How the publisher comes and goes with the config, and the host name its defaults use.
#include <unistd.h>

#include "agent/alerts/alert_publisher.h"

namespace certwatch::agent {

std::string local_host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string h(buf);
  // A host name is one topic level: nothing that would split or widen a topic.
  for (char& c : h)
    if (c == '/' || c == '+' || c == '#') c = '_';
  return h;
}

void update_alert_publisher(std::unique_ptr<AlertPublisher>& publisher, boost::asio::io_context& io,
                            Clock& clock, const config::Config& cfg, const Inventory& inventory,
                            exporters::Registry& registry, std::function<void()> touched,
                            bool sources_reported) {
  if (publisher && cfg.mqtt && publisher->config() == *cfg.mqtt &&
      publisher->state_dir() == cfg.agent.state_dir)
    return;
  const bool had_publisher = publisher != nullptr;
  if (publisher) {
    // Another broker or prefix: what this one left retained there would stay forever.
    const bool moved = !cfg.mqtt || cfg.mqtt->broker != publisher->config().broker ||
                       cfg.mqtt->topic_prefix != publisher->config().topic_prefix;
    moved ? publisher->retire() : publisher->stop();
    publisher.reset();
  }
  if (!cfg.mqtt) {
    if (had_publisher) {  // the section went: no broker to be disconnected from any more
      exporters::mqtt::forget_connection(registry);
      touched();
    }
    return;
  }
  publisher = std::make_unique<AlertPublisher>(io, clock, *cfg.mqtt, cfg.agent.state_dir, registry,
                                               std::move(touched));
  publisher->start();
  publisher->seed(inventory);
  if (sources_reported) publisher->sources_reported();
}

}  // namespace certwatch::agent
