// Not part of CI (hidden tag): the time of whole orders against pebble, for bench/RESULTS.md.
//   build/tests/integration_tests "[.acme-bench]"
#include <catch2/catch.hpp>

#include <algorithm>
#include <iostream>

#include "integration/acme_harness.h"

using namespace acme_test;

TEST_CASE("acme: time of 20 sequential orders on one client against pebble", "[.acme-bench]") {
  PebbleLab lab;
  auto client = lab.client();
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    RecordingSolver solver;
    auto request = request_for({"bench" + std::to_string(i) + ".acme.test"});
    const auto started = std::chrono::steady_clock::now();
    auto r = order(lab.io, *client, request, solver);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    require_issued(r);
  }
  std::sort(ms.begin() + 1, ms.end());
  std::cout << "first order (directory, account, order): " << ms[0] << " ms; later orders: median " << ms[10]
            << " ms, max " << ms[19] << " ms\n";
}
