// What this agent may have left retained on the broker, kept in a file under state_dir so
// that a topic whose alert cleared while the broker or the agent was away is still cleared
// later (reconciliation). Paho persists messages, not this: after a restart the agent must
// know which retained topics it owns without reading them back from the broker.
//
// The file is rewritten whole (pki::write_file_atomic) before the messages it covers are
// handed to Paho, so it always holds at least what the broker may hold. One line per entry,
// tab-separated fields, each percent-escaped ('%', tab, CR, LF):
//   alert    key severity since notified_at source target finding_target id subject_cn serial
//   not_after message clearing key                       (an empty retained message not yet
//   acknowledged) sensor   key                       (a Home Assistant discovery config and state)
//   unsensor key                       (their removal not yet acknowledged)
// Thread-safety: pure functions; the caller owns the file.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "exporters/mqtt/alert_state.h"

namespace certwatch::exporters::mqtt {

struct PublishedState {
  struct Restored {
    AlertInfo info;
    int64_t since = 0;
    int64_t notified_at = 0;
  };
  std::vector<Restored> alerts;
  std::set<std::string> clearing;
  std::set<std::string> sensors;
  std::set<std::string> unsensors;
};

std::string render_published(const AlertBook& book, const std::set<std::string>& clearing,
                             const std::set<std::string>& sensors,
                             const std::set<std::string>& unsensors);
// Lines it does not understand are skipped (a newer agent's file read by an older one).
PublishedState parse_published(std::string_view text);

// Missing file: an empty state (first start). Unreadable: the error.
certwatch::Result<PublishedState> read_published(const std::filesystem::path& path);
certwatch::Result<void> write_published(const std::filesystem::path& path, std::string_view text);

}  // namespace certwatch::exporters::mqtt
