# Fails when a product file (base/ pki/ config/ exporters/ agent/) differs from what the root
# .clang-format makes of it, and names each such file. clang-format 14 only: other versions
# lay out the same style differently, so their verdict would not be the tree's.
# Inputs: SOURCE_DIR, CLANG_FORMAT (may be empty or NOTFOUND when it is not installed).
set(folders base pki config exporters agent)
if(NOT CLANG_FORMAT)
  message(FATAL_ERROR "clang-format (14) not found: scripts/setup.sh installs Debian's clang-format")
endif()
execute_process(COMMAND ${CLANG_FORMAT} --version OUTPUT_VARIABLE version)
if(NOT version MATCHES "version 14\\.")
  message(FATAL_ERROR "${CLANG_FORMAT} is not clang-format 14 (${version}); the tree is formatted with 14")
endif()

# Tracked files in a git checkout (untracked scratch files are not the tree's); a glob of the
# folders in a source tarball.
execute_process(COMMAND git ls-files -- ${folders}
                WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE git_rc OUTPUT_VARIABLE tracked
                ERROR_QUIET)
set(files)
if(git_rc EQUAL 0 AND tracked)
  string(REPLACE "\n" ";" tracked "${tracked}")
  foreach(f IN LISTS tracked)
    if(f MATCHES "\\.(h|cpp)$" AND EXISTS ${SOURCE_DIR}/${f})
      list(APPEND files ${f})
    endif()
  endforeach()
else()
  foreach(folder IN LISTS folders)
    file(GLOB_RECURSE found RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/${folder}/*.h ${SOURCE_DIR}/${folder}/*.cpp)
    list(APPEND files ${found})
  endforeach()
endif()
list(LENGTH files count)
if(count EQUAL 0)
  message(FATAL_ERROR "no product files found under ${SOURCE_DIR}")
endif()

# One run over all files (a process per file costs minutes on a busy machine); the warnings
# start with the file's name, which is what the failure must show.
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror --style=file ${files}
                WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
set(differ)
if(NOT rc EQUAL 0)
  string(REGEX MATCHALL "[^\n]+:[0-9]+:[0-9]+: (error|warning)" hits "${out}")
  foreach(hit IN LISTS hits)
    string(REGEX REPLACE ":[0-9]+:[0-9]+: (error|warning)$" "" name "${hit}")
    list(APPEND differ ${name})
  endforeach()
  list(REMOVE_DUPLICATES differ)
  if(NOT differ)
    message(FATAL_ERROR "clang-format failed (exit ${rc}) without naming a file:\n${out}")
  endif()
endif()
if(differ)
  list(LENGTH differ n)
  list(JOIN differ "\n  " names)
  message(FATAL_ERROR "${n} of ${count} product files differ from .clang-format "
                      "(clang-format -i FILE fixes one):\n  ${names}")
endif()
message(STATUS "${count} product files match .clang-format")
