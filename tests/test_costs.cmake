# Included by ctest after the discovered tests (tests/CMakeLists.txt, TEST_INCLUDE_FILES): ctest
# starts tests of higher COST first, and a fresh tree (CI's clean clone) has no timing history,
# so without this the longest tests would start last, in declaration order, and end the run.
# (Tests added with add_test in tests/*.cmake come after this file: their COST is set there.)
# The 100,000-file scan runs first and alone (RUN_SERIAL): beside three other tests and the
# sanitizer build it once took more than ctest's 300 s on CI, where alone it takes under a minute.
set_tests_properties(
  "integration:agent scans a directory of 100,000 files and still reflects one change quickly"
  PROPERTIES COST 200 RUN_SERIAL TRUE)
set_tests_properties(
  "pki:a 10 MiB file of same-key, same-name CAs: judged in part, in bounded time"
  "integration:agent bootstraps a 60 s mosquitto certificate and renews it three times, served and usable"
  "integration:renew: a reload that does nothing ends in rollback and renewal.failed, the old certificate served again"
  "integration:the README demo: API and status page in chromium count its 7 certificates once, with their places"
  PROPERTIES COST 30)
set_tests_properties(
  "integration:pkcs11: the agent renews a mosquitto certificate through the token CA, served and usable"
  "integration:pkcs11: a removed token, then a wrong PIN, fail the renewal and touch nothing live until they are fixed"
  PROPERTIES COST 20)
# The upgrade test needs the agent of an earlier commit, built in the background by
# scripts/test.sh (minutes); it runs last, alone (-L upgrade), and not in the sanitizer tree.
set_tests_properties(
  "integration:upgrade: the retained alerts of an agent of 7fba276 leave no stale duplicate behind"
  PROPERTIES LABELS "integration;upgrade" TIMEOUT 1800)
