#include "agent/acme/client_registry.h"

#include <vector>

#include "agent/acme/acme_client.h"

namespace certwatch::agent::acme {

ClientRegistry& ClientRegistry::of(boost::asio::io_context& io) {
  return boost::asio::use_service<ClientRegistry>(static_cast<boost::asio::execution_context&>(io));
}

void ClientRegistry::stop() {
  stopped_ = true;
  // A cancel runs no callback inline (they are posted or resumed later), but copy anyway: a
  // client destroyed meanwhile removes itself.
  const std::vector<Client*> now(clients_.begin(), clients_.end());
  for (auto* c : now)
    if (clients_.count(c) != 0) c->cancel();
}

void stop_acme_clients(boost::asio::io_context& io) {
  ClientRegistry::of(io).stop();
}

}  // namespace certwatch::agent::acme
