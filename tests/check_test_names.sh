#!/usr/bin/env bash
# CTest passes a Catch2 test case to its binary by name (catch_discover_tests): a ';' in the
# name splits the CTest name, and a '\' turns into an escape, so the binary is asked for a
# test case that does not exist, runs nothing and passes. Such names are refused here.
set -euo pipefail
dir=${1:?usage: check_test_names.sh TESTS_DIR}
if grep -rnE '(TEST_CASE|SCENARIO)\("[^"]*[;\\]' "$dir" --include='*.cpp'; then
  echo "test case names above contain ';' or '\\': ctest would run nothing for them" >&2
  exit 1
fi
echo "every test case name is safe for ctest"
