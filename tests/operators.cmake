# Tests of what operators install beside the binary: the alert rules (promtool), the Grafana
# dashboard and the Debian package. Real programs only (promtool, prometheus, dpkg-deb,
# lintian, systemd-analyze); scripts/setup.sh installs them, and a missing one fails the test.
set(CERTWATCH_RULES ${PROJECT_SOURCE_DIR}/exporters/prometheus/certwatch-rules.yml)

add_test(NAME "exporters: promtool check rules" COMMAND promtool check rules ${CERTWATCH_RULES})
# Every rule fires once and stays silent once (exporters/prometheus/certwatch-rules.test.yml).
add_test(NAME "exporters: promtool test rules"
         COMMAND promtool test rules certwatch-rules.test.yml
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/exporters/prometheus)
set_tests_properties("exporters: promtool check rules" "exporters: promtool test rules"
                     PROPERTIES LABELS exporters TIMEOUT 120)

# The Debian package: built by cpack from this tree, then unpacked and checked.
add_test(NAME "package: deb" COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/packaging/deb_test.sh ${PROJECT_BINARY_DIR})
set_tests_properties("package: deb" PROPERTIES LABELS package TIMEOUT 600 COST 30)  # long: start early
