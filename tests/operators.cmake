# Tests of what operators install beside the binary: the alert rules (promtool). Real
# programs only; scripts/setup.sh installs them, and a missing one fails the test.
set(CERTWATCH_RULES ${PROJECT_SOURCE_DIR}/exporters/prometheus/certwatch-rules.yml)

add_test(NAME "exporters: promtool check rules" COMMAND promtool check rules ${CERTWATCH_RULES})
# Every rule fires once and stays silent once (exporters/prometheus/certwatch-rules.test.yml).
add_test(NAME "exporters: promtool test rules"
         COMMAND promtool test rules certwatch-rules.test.yml
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/exporters/prometheus)
set_tests_properties("exporters: promtool check rules" "exporters: promtool test rules"
                     PROPERTIES LABELS exporters TIMEOUT 120)

