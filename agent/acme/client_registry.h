// The ACME clients alive on one io_context, so that an agent that stops can end its orders at
// once (SIGTERM, issue #22 item 8): every client in flight is cancelled (its requests and
// waits end, its challenges are cleaned up, its callback gets "cancelled", so nothing is
// deployed), and a client made afterwards (the next target of a renewal batch) answers
// "cancelled" without touching the network. An asio service: one registry per io_context, so
// agents in one process (tests) stop independently.
// Thread-safety: io_context thread only.
#pragma once

#include <utility>  // before asio: Boost 1.74 + GCC 12 + C++20

#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <set>

namespace certwatch::agent::acme {

class Client;

class ClientRegistry final : public boost::asio::execution_context::service {
 public:
  static inline boost::asio::execution_context::id id;
  explicit ClientRegistry(boost::asio::execution_context& context) : service(context) {}

  static ClientRegistry& of(boost::asio::io_context& io);

  void add(Client* client) { clients_.insert(client); }
  void remove(Client* client) { clients_.erase(client); }
  bool stopped() const { return stopped_; }
  // Cancels every client and refuses new ones, for the rest of the io_context's life.
  void stop();

 private:
  void shutdown() override {}

  std::set<Client*> clients_;
  bool stopped_ = false;
};

// ClientRegistry::of(io).stop(): for the agent's shutdown.
void stop_acme_clients(boost::asio::io_context& io);

}  // namespace certwatch::agent::acme
