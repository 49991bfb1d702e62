// Headless chromium for the status page tests: one run on a fresh profile (--dump-dom or
// --screenshot in `extra`), and the console messages it logged. Header-only, like the other
// integration harnesses.
#pragma once

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.h"

namespace chromium_test {

struct Browser {
  std::filesystem::path profile;  // a fresh --user-data-dir per run
  testing::RunResult run(const std::vector<std::string>& extra, const std::string& url) const {
    std::filesystem::remove_all(profile);
    std::vector<std::string> argv = {"chromium",
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-quic",
                                     "--no-first-run",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--user-data-dir=" + profile.string(),
                                     "--enable-logging=stderr",
                                     "--v=0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url);
    return testing::run(argv, std::chrono::seconds(120));
  }
};

// Console messages of the page (chromium logs them as "INFO:CONSOLE...").
inline std::vector<std::string> console_lines(const std::string& err) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    if (line.find(":CONSOLE") != std::string::npos) out.push_back(line);
  return out;
}

}  // namespace chromium_test
