#include "agent/acme/acme_problem.h"

#include <nlohmann/json.hpp>

namespace certwatch::agent::acme {
namespace {

constexpr std::string_view kAcmeUrn = "urn:ietf:params:acme:error:";
constexpr size_t kMaxSubproblems = 8;  // a huge list would make the line useless
constexpr size_t kMaxBodyEcho = 200;   // of a body that is not a problem document

std::string short_type(const nlohmann::json& problem) {
  if (!problem.is_object() || !problem.contains("type") || !problem["type"].is_string()) return {};
  std::string type = problem["type"].get<std::string>();
  if (type.rfind(kAcmeUrn, 0) == 0) type.erase(0, kAcmeUrn.size());
  return type;
}

std::string string_member(const nlohmann::json& j, const char* name) {
  return j.is_object() && j.contains(name) && j[name].is_string() ? j[name].get<std::string>()
                                                                  : std::string();
}

std::string format(const nlohmann::json& problem, const std::string& step) {
  std::string type = short_type(problem);
  if (type.empty()) type = "error";
  std::string out = "acme: " + type + " at " + step + ": " + string_member(problem, "detail");
  if (problem.contains("subproblems") && problem["subproblems"].is_array()) {
    size_t n = 0;
    for (const auto& sub : problem["subproblems"]) {
      if (n++ == kMaxSubproblems) break;
      out += "; " + short_type(sub);
      if (sub.contains("identifier") && sub["identifier"].is_object())
        out += " (" + string_member(sub["identifier"], "value") + ")";
      out += ": " + string_member(sub, "detail");
    }
  }
  return out;
}

nlohmann::json parse_problem(const HttpsResponse& response) {
  if (response.header("content-type").rfind("application/problem+json", 0) != 0) return nullptr;
  return nlohmann::json::parse(response.body, nullptr, false);
}

}  // namespace

std::string problem_type(const HttpsResponse& response) {
  return short_type(parse_problem(response));
}

std::string problem_message(const HttpsResponse& response, const std::string& step) {
  const auto problem = parse_problem(response);
  if (problem.is_object()) return format(problem, step);
  std::string body = response.body.substr(0, kMaxBodyEcho);
  for (char& c : body)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  body.erase(body.find_last_not_of(' ') + 1);
  return "acme: HTTP " + std::to_string(response.status) + " at " + step +
         (body.empty() ? "" : ": " + body);
}

std::string problem_message_of_json(const std::string& problem_json, const std::string& step) {
  return format(nlohmann::json::parse(problem_json, nullptr, false), step);
}

}  // namespace certwatch::agent::acme
