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

namespace {

certwatch::agent::RenewOutcome failed_at(certwatch::agent::RenewStep step, std::string message) {
  certwatch::agent::RenewOutcome o;
  o.failed_step = step;
  o.failure = certwatch::make_error(std::move(message));
  return o;
}

}  // namespace

// README.md's troubleshooting tells operators to match these sentences: they are the ones the
// transaction wrote before the steps became an enum.
TEST_CASE("describe_failure says each step in the words operators match", "[agent][renew]") {
  using certwatch::agent::describe_failure;
  using certwatch::agent::RenewStep;
  CHECK(describe_failure(certwatch::agent::RenewOutcome{}).empty());
  CHECK(describe_failure(failed_at(RenewStep::setup, "owner 'x' does not exist")) ==
        "owner 'x' does not exist");
  CHECK(describe_failure(failed_at(RenewStep::recover, "intent record unreadable")) ==
        "intent record unreadable");
  CHECK(describe_failure(failed_at(RenewStep::issue, "CA key locked")) ==
        "issuance failed: CA key locked");
  CHECK(describe_failure(failed_at(RenewStep::judge, "issued set: bad")) == "issued set: bad");
  CHECK(describe_failure(failed_at(RenewStep::deploy, "disk full")) == "deploy failed: disk full");

  auto reload = failed_at(RenewStep::reload, "pid file gone");
  reload.rolled_back = true;
  CHECK(describe_failure(reload) == "reload failed: pid file gone; previous set restored");
  reload.reload_after_rollback = certwatch::make_error("no such process");
  CHECK(describe_failure(reload) ==
        "reload failed: pid file gone; previous set restored; reload after rollback failed: no "
        "such process");

  auto verify = failed_at(RenewStep::verify, "127.0.0.1:8883 still serves serial 0A");
  verify.rollback = certwatch::make_error("archive missing");
  CHECK(describe_failure(verify) ==
        "the server does not serve the new certificate (127.0.0.1:8883 still serves serial 0A); "
        "rollback failed: archive missing");
}

TEST_CASE("renew_step_words wraps only the steps whose messages do not name them",
          "[agent][renew]") {
  using certwatch::agent::renew_step_words;
  using certwatch::agent::RenewStep;
  for (auto s : {RenewStep::none, RenewStep::setup, RenewStep::recover, RenewStep::judge}) {
    CHECK(renew_step_words(s).before.empty());
    CHECK(renew_step_words(s).after.empty());
  }
  CHECK(renew_step_words(RenewStep::verify).after == ")");
  CHECK(renew_step_words(RenewStep::rollback).succeeded == "; previous set restored");
}
