# Installation layout and the Debian package (cpack -G DEB, run from the build directory).
# Paths follow Debian: the binary in /usr/bin, the unit in /lib/systemd/system, the example config
# as a conffile in /etc/scalr-usage-exporter/, data under /usr/share/scalr-usage-exporter/.

set(SUE_SHARE_DIR share/scalr-usage-exporter)

install(TARGETS scalr-usage-exporter RUNTIME DESTINATION bin)
install(FILES systemd/scalr-usage-exporter.service DESTINATION /lib/systemd/system)
install(FILES etc/scalr-usage-exporter.yml DESTINATION /etc/scalr-usage-exporter)
install(FILES systemd/scalr-usage-exporter.default DESTINATION /etc/default
        RENAME scalr-usage-exporter)
install(FILES grafana/dashboards/scalr-usage.json
        DESTINATION ${SUE_SHARE_DIR}/grafana/dashboards)
install(DIRECTORY grafana/provisioning DESTINATION ${SUE_SHARE_DIR}/grafana)
install(FILES prometheus/rules.yml DESTINATION ${SUE_SHARE_DIR}/prometheus)
install(FILES etc/postgres/schema.sql etc/postgres/report_state.sql
        DESTINATION ${SUE_SHARE_DIR}/postgres)
install(FILES docs/report.schema.json DESTINATION ${SUE_SHARE_DIR})
install(FILES README.md docs/operations.md DESTINATION share/doc/scalr-usage-exporter)
# What Debian expects of every package: the copyright file, the changelog, a man page per program.
install(FILES cmake/debian/copyright ${CMAKE_BINARY_DIR}/changelog.gz
        DESTINATION share/doc/scalr-usage-exporter)
install(FILES ${CMAKE_BINARY_DIR}/scalr-usage-exporter.1.gz DESTINATION share/man/man1)
# Not a conffile: the web configuration file is optional (--web.config.file), and the example
# refuses to start until its placeholders are filled in.
install(FILES etc/web-config.yml DESTINATION share/doc/scalr-usage-exporter/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME scalr-usage-exporter)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "scalr-usage-exporter maintainers <ops@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Prometheus exporter and billing reports for Scalr usage")
# Lines of at most 80 characters (lintian: extended-description-line-too-long).
set(CPACK_PACKAGE_DESCRIPTION
    "Polls Scalr's usage-statistics API (or a PostgreSQL run history) and exposes\n\
runs and run time per account, environment and workspace as Prometheus\n\
metrics; writes scheduled billing reports (CSV, JSON, HTML, FinOps FOCUS).\n\
Ships a hardened systemd unit, a Grafana dashboard and Prometheus rules.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # scalr-usage-exporter_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)    # Depends computed from the linked libraries
# Plus every program the unit, the maintainer scripts and the documented checks run that is not in
# an Essential: yes package: curl (operations.md checks /metrics and /-/ready with it). The unit's
# ExecReload= is /bin/sh (dash, Essential); the maintainer scripts use rm (coreutils) and
# deb-systemd-invoke (init-system-helpers), both Essential, and systemctl only when systemd runs
# (/run/systemd/system exists).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "curl")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_SOURCE_DIR}/cmake/debian/conffiles
    ${CMAKE_CURRENT_SOURCE_DIR}/cmake/debian/postinst
    ${CMAKE_CURRENT_SOURCE_DIR}/cmake/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
