#include "agent/daemon/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "base/text_escape.h"

namespace certwatch::agent {
namespace {

// %* in the pattern: "<N>" with the journald priority of the message's level.
class PriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string prefix = "<" + std::to_string(journald_priority(msg.level)) + ">";
    dest.append(prefix.data(), prefix.data() + prefix.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PriorityFlag>();
  }
};

// %V in the pattern: the message with every control character and every byte that is not
// UTF-8 escaped (base/text_escape.h). Applied to the whole message, so every field of every
// line is covered: a file name or certificate CN holding "\n<0>..." cannot start a forged
// journald entry, and ESC cannot drive the terminal.
class EscapedPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!certwatch::needs_escape(payload, certwatch::EscapeSet::for_log)) {
      dest.append(payload.data(), payload.data() + payload.size());
      return;
    }
    const std::string escaped = certwatch::escape_text(payload, certwatch::EscapeSet::for_log);
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedPayload>();
  }
};

}  // namespace

int journald_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return 2;  // LOG_CRIT
    case spdlog::level::err:
      return 3;  // LOG_ERR
    case spdlog::level::warn:
      return 4;  // LOG_WARNING
    case spdlog::level::info:
      return 6;  // LOG_INFO
    default:
      return 7;  // LOG_DEBUG (trace, debug)
  }
}

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warning" || name == "warn") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  if (name == "critical") return spdlog::level::critical;
  if (name == "off") return spdlog::level::off;
  return std::nullopt;
}

void setup_logging(spdlog::level::level_enum level, std::optional<bool> journald) {
  const char* stream = std::getenv("JOURNAL_STREAM");
  const bool under_journald = journald.value_or(stream != nullptr && *stream != '\0');
  // stderr_sink_mt: the scan pool threads may log too.
  auto logger = std::make_shared<spdlog::logger>("certwatch",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<PriorityFlag>('*');
  formatter->add_flag<EscapedPayload>('V');
  formatter->set_pattern(under_journald ? "%*%V" : "%Y-%m-%dT%H:%M:%S.%e%z %l %V");
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  // Errors are rare and must not be lost if the process dies right after.
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace certwatch::agent
