#!/usr/bin/env bash
# Unity batches (CERTWATCH_UNITY) put up to eight test files into one translation unit. Two
# file-local helpers of the same name then meet: with the same signature the batch does not
# compile, which is loud; with different signatures it compiles, and a call in one file may
# pick the other file's overload (inventory_test once called status_page_test's `entry`).
# This fails when two files of one batch define a namespace-scope function of the same name.
#
# Usage: check_unity_names.sh BUILD_DIR   (a tree configured with -DCERTWATCH_UNITY=ON)
#
# A definition is recognised as the project's clang-format writes one: at column 0, a return
# type, an unqualified name, "(", and a line that does not end in ";". Names qualified with
# "::" (members defined out of their class) cannot meet this way and are left out.
set -euo pipefail
build=${1:?usage: check_unity_names.sh BUILD_DIR}

mapfile -t batches < <(find "$build/tests/CMakeFiles" -path '*/Unity/unity_*_cxx.cxx' | sort)
if [ "${#batches[@]}" -eq 0 ]; then
  echo "no unity batch under $build/tests/CMakeFiles: is the tree configured with -DCERTWATCH_UNITY=ON?"
  exit 1
fi

# the names of the namespace-scope functions a file defines, one per line
defined_names() {
  grep -E '^[A-Za-z_][A-Za-z0-9_:<>,*& ]*[ *&][A-Za-z_][A-Za-z0-9_]*\(' "$1" |
    grep -vE '^(TEST_CASE|SCENARIO|TEMPLATE_|CATCH_|static_assert|using |return |typedef )' |
    grep -vE ';[[:space:]]*$' |
    sed -E 's/^[A-Za-z_][A-Za-z0-9_:<>,*& ]*[ *&]([A-Za-z_][A-Za-z0-9_]*)\(.*/\1/' |
    sort -u || true
}

status=0
names_seen=0
files_seen=0
for batch in "${batches[@]}"; do
  mapfile -t sources < <(grep -oE '^#include "[^"]+"' "$batch" | sed -E 's/^#include "(.*)"$/\1/')
  listing=""
  for src in "${sources[@]}"; do
    files_seen=$((files_seen + 1))
    while IFS= read -r name; do
      [ -n "$name" ] || continue
      names_seen=$((names_seen + 1))
      listing+="$name tests/${src##*/tests/}"$'\n'
    done < <(defined_names "$src")
  done
  clashes=$(printf '%s' "$listing" | awk '{files[$1] = files[$1] "\n    " $2; n[$1]++}
    END {for (k in n) if (n[k] > 1) print "  " k " is defined in" files[k]}')
  if [ -n "$clashes" ]; then
    echo "${batch#"$build"/} holds two definitions of one name:"
    echo "$clashes"
    status=1
  fi
done

# A pattern that stopped matching would pass everything: the test files do define helpers.
if [ "$names_seen" -eq 0 ]; then
  echo "read $files_seen files in ${#batches[@]} batches and recognised no function definition: the pattern is broken"
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "Rename one of each pair (a name of the file's own: inventory_test's inventory_entry, not entry),"
  echo "or list the file under SKIP_UNITY_BUILD_INCLUSION in tests/CMakeLists.txt."
  exit 1
fi
echo "${#batches[@]} unity batches, $files_seen files, $names_seen function definitions: no name defined twice in a batch"
