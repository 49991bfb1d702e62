#include "agent/renew/transaction.h"

#include <catch2/catch.hpp>

TEST_CASE("to_renewal_event carries every field the events message reads", "[agent][renew]") {
  certwatch::agent::RenewOutcome o;
  o.name = "mosquitto";
  o.ok = true;
  o.error = "reload failed";
  o.rolled_back = true;
  o.verified = true;
  o.serial = "0A1B";
  o.not_before = 1000;
  o.not_after = 2000;
  o.seconds = 1.5;
  const auto e = certwatch::agent::to_renewal_event(o);
  CHECK(e.name == "mosquitto");
  CHECK(e.ok);
  CHECK(e.verified);
  CHECK(e.rolled_back);
  CHECK(e.serial == "0A1B");
  CHECK(e.not_after == 2000);
  CHECK(e.error == "reload failed");
  CHECK(e.seconds == 1.5);

  const auto failed = certwatch::agent::to_renewal_event(certwatch::agent::RenewOutcome{});
  CHECK_FALSE(failed.ok);
  CHECK_FALSE(failed.verified);
  CHECK(failed.serial.empty());
}
