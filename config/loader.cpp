// Loading the config file: the text checked byte by byte, parsed as one YAML document, its
// top-level mapping handed section by section to the schema (config/loader_sections.h, one
// file per section), then the checks across sections. The reading mechanics are in
// config/yaml_reader.cpp.
#include "config/loader.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "base/text_escape.h"
#include "config/loader_sections.h"
#include "config/yaml_reader.h"
#include "pki/load/read_file.h"

namespace certwatch::config {

namespace fs = std::filesystem;

namespace {

using sections::Need;
using sections::Schema;

LoadReport load_tree(YamlReader& r, const YAML::Node& root, const fs::path& source);

// Records, per document, where it starts and where its first node is, without building nodes.
class DocumentStarts final : public YAML::EventHandler {
 public:
  struct Document {
    YAML::Mark start;
    std::optional<YAML::Mark> first_node;
  };
  std::vector<Document> docs;
  void OnDocumentStart(const YAML::Mark& mark) override { docs.push_back({mark, std::nullopt}); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(m);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& m) {
    if (!docs.empty() && !docs.back().first_node) docs.back().first_node = m;
  }
};

struct ExtraDocument {
  YAML::Mark mark;     // the second document's first node (or its start)
  bool stuck = false;  // the parser did not move: `mark` is a token it cannot start a node with
};

// Where a second document is, if there is one. Reads at most three documents.
std::optional<ExtraDocument> extra_document(std::string_view text) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentStarts starts;
  for (int i = 0; i < 3 && parser.HandleNextDocument(starts); ++i) {
  }
  const auto& d = starts.docs;
  if (d.size() < 2) return std::nullopt;
  if (d[1].start.pos == d[0].start.pos || (d.size() > 2 && d[2].start.pos == d[1].start.pos))
    return ExtraDocument{d[1].start, true};
  return ExtraDocument{d[1].first_node.value_or(d[1].start), false};
}

LoadReport load_text(std::string_view text, const std::string& name, const fs::path& base_dir,
                     const fs::path& source, LoadOptions options) {
  YamlReader r(name, base_dir, options);
  LoadReport report;
  YAML::Node root;
  // YAML is printable Unicode text. Bytes that are not (a NUL, which yaml-cpp reports at a
  // wrong position; anything not UTF-8; control characters) are named at their own position
  // before yaml-cpp sees them.
  auto refuse_at = [&](std::size_t at, std::string what) {
    const auto before = text.substr(0, at);
    const auto line_start = before.rfind('\n');
    const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    const int column =
        1 + static_cast<int>(line_start == std::string_view::npos ? at : at - line_start - 1);
    report.problems.push_back(Problem{name, line, column, std::move(what)});
    return report;
  };
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    return refuse_at(nul, "a NUL byte: the config must be text");
  // YAML 1.2's c-printable: tab, LF, CR, U+0020-U+007E, U+0085 and up; no other C0 control,
  // no DEL, no C1 control.
  auto hex = [](unsigned value) {
    char out[16];
    std::snprintf(out, sizeof out, "0x%02X", value);
    return std::string(out);
  };
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = certwatch::utf8_sequence_length(text, i);
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (n == 0)
      return refuse_at(i, "byte " + hex(b0) + " is not UTF-8: the config must be UTF-8 text");
    const bool c0_or_del =
        n == 1 && ((b0 < 0x20 && b0 != '\t' && b0 != '\n' && b0 != '\r') || b0 == 0x7F);
    const auto b1 = n == 2 ? static_cast<unsigned char>(text[i + 1]) : 0;
    const bool c1 = n == 2 && b0 == 0xC2 && b1 >= 0x80 && b1 <= 0x9F && b1 != 0x85;
    if (c0_or_del || c1)
      return refuse_at(i,
                       "control character " + hex(c1 ? b1 : b0) +
                           ": the config must be printable text (YAML allows tab, CR and LF only)");
    i += n;
  }
  try {
    root = YAML::Load(std::string(text));
    // A second document (a stray "---") is an error rather than ignored. Not YAML::LoadAll:
    // yaml-cpp 0.7's parser makes no progress on a flow indicator where a block node should
    // start (", a" at the top, or after "- a"), and LoadAll then collects empty documents
    // until memory runs out (found by config_fuzz). At most three document starts are read
    // here, and one that starts where the previous one did is that stuck token.
    if (const auto extra = extra_document(text)) {
      const auto at = static_cast<std::size_t>(extra->mark.pos);
      if (extra->stuck)
        r.problem(extra->mark, std::string("YAML syntax error: unexpected '") +
                                   (at < text.size() ? text[at] : '?') +
                                   "' (a flow indicator outside [ ] or { })");
      else
        r.problem(extra->mark, "a second YAML document: the config is one document (remove '---')");
    }
  } catch (const YAML::DeepRecursion& e) {  // its message is "bad file"
    r.problem(e.mark,
              "YAML nested too deeply (more than " + std::to_string(e.depth() - 1) + " levels)");
    report.problems = r.take_problems();
    return report;
  } catch (const YAML::Exception& e) {
    r.problem(e.mark, "YAML syntax error: " + e.msg);
    report.problems = r.take_problems();
    return report;
  }
  try {
    return load_tree(r, root, source);
  } catch (const YAML::Exception& e) {  // not expected from the reads above; never escapes
    r.problem(e.mark, std::string("YAML error: ") + e.what());
    report.problems = r.take_problems();
    return report;
  }
}

LoadReport load_tree(YamlReader& r, const YAML::Node& root, const fs::path& source) {
  LoadReport report;
  Config c;
  c.source = source;
  Schema schema(r);
  const Field top{"", root, YAML::Mark{}};
  const auto m = r.map(top, {"agent", "http", "trust", "watch", "endpoints", "mqtt", "issuers",
                             "managed", "severities"});
  if (const auto* v = m.get("agent")) schema.agent(*v, c.agent);
  if (const auto* v = m.get("http")) schema.http(*v, c.http);
  if (const auto* v = m.get("trust"))
    if (auto p = r.paths(*v, Need::file_or_directory)) c.trust = *p;
  std::vector<Field> watch_fields, issuer_fields, managed_fields;
  if (const auto* v = m.get("watch")) watch_fields = r.list(*v);
  for (const auto& f : watch_fields) schema.watch(f, c.watch.emplace_back());
  std::vector<Field> endpoint_fields;
  if (const auto* v = m.get("endpoints")) endpoint_fields = r.list(*v);
  for (const auto& f : endpoint_fields) schema.endpoint(f, c.endpoints.emplace_back());
  if (const auto* v = m.get("mqtt")) schema.mqtt(*v, c.mqtt.emplace());
  if (const auto* v = m.get("issuers")) issuer_fields = r.list(*v);
  for (const auto& f : issuer_fields) schema.issuer(f, c.issuers.emplace_back());
  if (const auto* v = m.get("managed")) managed_fields = r.list(*v);
  for (const auto& f : managed_fields) schema.managed(f, c.managed.emplace_back());
  if (const auto* v = m.get("severities")) schema.severities(*v, c.severities);
  sections::cross_check(r, c, watch_fields, issuer_fields, managed_fields);
  sections::check_unique_endpoints(r, c, endpoint_fields);
  // Only when the file is otherwise clean: a broken watch section is reason enough.
  if (m.is_map() && !r.has_problems() && c.watch.empty() && c.endpoints.empty() &&
      c.managed.empty())
    r.problem(YAML::Mark{}, "nothing to do: give at least one of watch, endpoints or managed");

  report.problems = r.take_problems();
  if (report.problems.empty()) report.config = std::move(c);
  return report;
}

certwatch::Result<Config> to_result(LoadReport report) {
  if (report.config) return std::move(*report.config);
  std::string message;
  for (const auto& p : report.problems) {
    if (!message.empty()) message += '\n';
    message += p.to_string();
  }
  return certwatch::make_error(std::move(message));
}

}  // namespace

std::string Problem::to_string() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadReport check_config(const fs::path& path, LoadOptions options) {
  std::error_code ec;
  // Non-blocking, regular files only, capped: /dev/zero or a FIFO is refused at once.
  auto text = fs::is_directory(path, ec) ? certwatch::Result<std::string>(certwatch::make_error(""))
                                         : pki::read_regular_file(path, pki::kMaxConfigBytes);
  if (!text) {
    const std::string why =
        fs::is_directory(path, ec) ? "is a directory"
        : !fs::exists(path, ec)
            ? "does not exist"
            : "cannot be read: " + text.error().message.substr(path.string().size() + 2);
    LoadReport report;
    report.problems.push_back(Problem{path.string(), 0, 0, "config file " + why});
    return report;
  }
  const fs::path absolute = fs::absolute(path, ec).lexically_normal();
  return load_text(*text, path.string(), absolute.parent_path(), absolute, options);
}

certwatch::Result<Config> load_config(const fs::path& path, LoadOptions options) {
  return to_result(check_config(path, options));
}

certwatch::Result<Config> load_config_string(std::string_view text, std::string_view name,
                                             const fs::path& base_dir, LoadOptions options) {
  std::error_code ec;
  const fs::path base = base_dir.empty() ? fs::current_path(ec) : fs::absolute(base_dir, ec);
  return to_result(
      load_text(text, std::string(name), base.lexically_normal(), fs::path(name), options));
}

}  // namespace certwatch::config
