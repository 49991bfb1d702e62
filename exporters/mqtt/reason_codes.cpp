#include "exporters/mqtt/reason_codes.h"

#include <fmt/format.h>

#include <string_view>

namespace certwatch::exporters::mqtt {
namespace {

struct Reason {
  int code;
  std::string_view label;
  std::string_view words;
};

// MQTT 5, 3.4.2.1 (PUBACK) and 3.5.2.1 (PUBREC): the failing codes a broker may send.
constexpr Reason kPublishReasons[] = {
    {0x80, "unspecified_error", "unspecified error"},
    {0x83, "implementation_specific_error", "implementation specific error"},
    {0x87, "not_authorized", "not authorized"},
    {0x90, "topic_name_invalid", "topic name invalid"},
    {0x91, "packet_identifier_in_use", "packet identifier in use"},
    {0x97, "quota_exceeded", "quota exceeded"},
    {0x99, "payload_format_invalid", "payload format invalid"},
};

// MQTT 5, 3.2.2.2: the CONNACK codes a broker refuses a connection with (the words only).
constexpr Reason kConnackReasons[] = {
    {0x84, "", "unsupported protocol version"},
    {0x85, "", "client id rejected"},
    {0x86, "", "bad user name or password"},
    {0x87, "", "not authorized"},
    {0x88, "", "server unavailable"},
    {0x89, "", "server busy"},
    {0x8A, "", "banned"},
    {0x8C, "", "bad authentication method"},
    {0x97, "", "quota exceeded"},
    {0x9F, "", "connection rate exceeded"},
};

template <std::size_t N>
const Reason* find(const Reason (&table)[N], int code) {
  for (const auto& r : table)
    if (r.code == code) return &r;
  return nullptr;
}

std::string hex(int code) {
  return fmt::format("0x{:02X}", code);
}

}  // namespace

Refusal publish_refusal(int code) {
  if (const Reason* r = find(kPublishReasons, code))
    return {std::string(r->label), std::string(r->words) + " (reason code " + hex(code) + ")"};
  return {"code_" + hex(code), "refused (reason code " + hex(code) + ")"};
}

std::string connack5_refusal(int code) {
  const Reason* r = find(kConnackReasons, code);
  return "broker refused the connection: " + std::string(r ? r->words : "refused") + " (CONNACK " +
         hex(code) + ")";
}

}  // namespace certwatch::exporters::mqtt
