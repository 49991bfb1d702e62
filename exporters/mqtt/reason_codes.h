// What an MQTT 5 broker's reason codes mean to the agent (OASIS mqtt-v5.0, 2.4 "Reason Code"):
// a PUBACK or PUBREC at 0x80 or above is a publish the broker refused (an ACL's denial is
// 0x87), a CONNACK at 0x80 or above a refused connection. The metric label is bounded (the
// codes the specification lists for PUBACK, else "code_0xNN") and the same for the same code.
// Thread-safety: pure functions.
#pragma once

#include <string>

namespace certwatch::exporters::mqtt {

// The first failing reason code: everything below is a success (0x10 "no matching
// subscribers" included: the broker took the message).
inline constexpr int kFirstFailureReason = 0x80;

struct Refusal {
  std::string label;  // certwatch_mqtt_messages_denied_total{reason}: "not_authorized"
  std::string words;  // for the log: "not authorized (reason code 0x87)"
};

// A refused PUBLISH (`code` >= 0x80).
Refusal publish_refusal(int code);

// A refused CONNECT of MQTT 5 (`code` >= 0x80): "broker refused the connection: bad user name
// or password (CONNACK 0x86)".
std::string connack5_refusal(int code);

}  // namespace certwatch::exporters::mqtt
