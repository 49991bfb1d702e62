# The Debian package (cmake --build build --target package -> build/certwatch_<v>_<arch>.deb):
# the binary, the systemd unit, sysusers and tmpfiles files, the example config as a conffile
# in /etc/certwatch/, the alert rules and the Grafana dashboard in /usr/share/certwatch/, and
# the README. postinst creates the service user with systemd-sysusers. Checked by the ctest
# "package: deb" (tests/packaging/deb_test.sh: file list, conffiles, systemd-analyze verify,
# lintian without errors).
# The Maintainer field: packagers put their own name here (-DCERTWATCH_PACKAGE_MAINTAINER=...).
set(CERTWATCH_PACKAGE_MAINTAINER "certwatch maintainers <certwatch@example.org>"
    CACHE STRING "Maintainer of the Debian package")
set(CW_PKG ${PROJECT_SOURCE_DIR}/packaging/debian)
set(CW_DOC share/doc/certwatch)

install(FILES ${PROJECT_SOURCE_DIR}/systemd/certwatch.service DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/certwatch.sysusers DESTINATION lib/sysusers.d
        RENAME certwatch.conf)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/certwatch.tmpfiles DESTINATION lib/tmpfiles.d
        RENAME certwatch.conf)
install(FILES ${PROJECT_SOURCE_DIR}/config/examples/minimal.yaml DESTINATION /etc/certwatch
        RENAME certwatch.yaml)
install(FILES ${PROJECT_SOURCE_DIR}/exporters/prometheus/certwatch-rules.yml
              ${PROJECT_SOURCE_DIR}/exporters/grafana/certwatch.json
        DESTINATION share/certwatch)
install(FILES ${PROJECT_SOURCE_DIR}/config/examples/certwatch.yaml
              ${PROJECT_SOURCE_DIR}/config/examples/minimal.yaml
        DESTINATION ${CW_DOC}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${CW_PKG}/copyright DESTINATION ${CW_DOC})

# Debian policy wants the changelog compressed with gzip -9n (no name, no timestamp).
set(CW_CHANGELOG_GZ ${CMAKE_CURRENT_BINARY_DIR}/changelog.Debian.gz)
configure_file(${CW_PKG}/changelog.in ${CMAKE_CURRENT_BINARY_DIR}/changelog.Debian @ONLY)
execute_process(COMMAND gzip -9nf ${CMAKE_CURRENT_BINARY_DIR}/changelog.Debian COMMAND_ERROR_IS_FATAL ANY)
install(FILES ${CW_CHANGELOG_GZ} DESTINATION ${CW_DOC})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME certwatch)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "${CERTWATCH_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "certificate lifecycle agent for TLS and MQTT hosts")
# The extended description (CPack puts the summary above it as the synopsis).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "certwatch watches certificate files, judges them (chains as ordered files, key
pairing, lints, lifetime-relative expiry) and reports through Prometheus
metrics, a JSON API and a status page. certwatch check is a Nagios plugin and
certwatch pki a small built-in CA. Alert rules and a Grafana dashboard are in
/usr/share/certwatch.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/certwatch/certwatch")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemd-sysusers and systemd-tmpfiles run in postinst.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CW_PKG}/conffiles ${CW_PKG}/postinst ${CW_PKG}/prerm ${CW_PKG}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The config in /etc is a conffile (packaging/debian/conffiles): upgrades keep local edits.
include(CPack)
