// MQTT 3.1.1 CONNECT and CONNACK (see mqtt_exchange.h).
#include "agent/probe/mqtt_exchange.h"

#include <cstdio>

namespace certwatch::agent::probe {

std::vector<unsigned char> mqtt_connect_packet(const std::string& client_id) {
  std::vector<unsigned char> var{0x00, 0x04, 'M', 'Q', 'T', 'T',
                                 0x04,         // protocol level 4 = 3.1.1
                                 0x02,         // connect flags: clean session only
                                 0x00, 0x3c};  // keep-alive 60 s
  const size_t id_len = client_id.size() > 23 ? 23 : client_id.size();
  var.push_back(static_cast<unsigned char>(id_len >> 8));
  var.push_back(static_cast<unsigned char>(id_len & 0xff));
  for (size_t i = 0; i < id_len; ++i) var.push_back(static_cast<unsigned char>(client_id[i]));
  // Remaining length fits one byte (< 128): 10 + 2 + at most 23.
  std::vector<unsigned char> packet;
  packet.reserve(2 + var.size());
  packet.push_back(0x10);
  packet.push_back(static_cast<unsigned char>(var.size()));
  for (const unsigned char c : var) packet.push_back(c);
  return packet;
}

certwatch::Result<void> check_connack(const std::array<unsigned char, kConnackSize>& b) {
  if (b[0] != 0x20 || b[1] != 0x02) {
    char hex[64];
    std::snprintf(hex, sizeof hex, "not a CONNACK: the broker sent %02x %02x %02x %02x", b[0], b[1],
                  b[2], b[3]);
    return make_error(hex, ErrorKind::invalid_input);
  }
  if (b[3] == 0) return {};
  // Return codes of 3.1.1, table 3.1.
  static constexpr const char* kMeaning[] = {
      "accepted",           "unacceptable protocol version", "identifier rejected",
      "server unavailable", "bad user name or password",     "not authorized"};
  const std::string meaning = b[3] < 6 ? kMeaning[b[3]] : "reserved";
  return make_error("CONNACK return code " + std::to_string(b[3]) + " (" + meaning + ")",
                    ErrorKind::refused);
}

}  // namespace certwatch::agent::probe
