# Install layout (prefix-relative unless noted) and the CPack packages:
#
#   bin/wsrelay, bin/wsrelay-client       the relay and the example client
#   etc/wsrelay/wsrelay.yaml              /etc/wsrelay/... for the /usr prefix
#   share/wsrelay/www/                    the test page
#   share/man/man8/wsrelay.8.gz, share/man/man1/wsrelay-client.1.gz
#   share/doc/wsrelay/                    README.md, CHANGELOG.md, docs/, examples/
#   lib/systemd/system/wsrelay.service
#
# `cpack` in the build folder makes wsrelay_<version>-1_<arch>.deb (prefix
# /usr) and wsrelay-<version>-linux-<arch>.tar.gz (relocatable).
include(GNUInstallDirs)
include(${CMAKE_CURRENT_LIST_DIR}/install-dirs.cmake)

set(WSRELAY_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
  "Where the systemd unit goes, relative to the install prefix or absolute")

install(TARGETS wsrelay RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The client is built only where app/client/ exists.
if(TARGET wsrelay-client)
  install(TARGETS wsrelay-client RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/www/ DESTINATION ${CMAKE_INSTALL_DATADIR}/wsrelay/www
  PATTERN "*.swp" EXCLUDE PATTERN "*~" EXCLUDE)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The topic pages, and the operations kit: proxy examples, alerts, dashboard.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/conf/nginx ${PROJECT_SOURCE_DIR}/conf/haproxy
  ${PROJECT_SOURCE_DIR}/conf/prometheus ${PROJECT_SOURCE_DIR}/conf/grafana
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# The man pages carry the project version, and Debian ships man pages
# compressed; -n keeps the timestamp out, so rebuilds are byte-identical.
foreach(page wsrelay.8 wsrelay-client.1)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  configure_file(${PROJECT_SOURCE_DIR}/conf/${page}.in ${CMAKE_CURRENT_BINARY_DIR}/${page} @ONLY)
  add_custom_command(
    OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${page}.gz
    COMMAND sh -c "gzip -9n <\"$1\" >\"$2\"" sh
            ${CMAKE_CURRENT_BINARY_DIR}/${page} ${CMAKE_CURRENT_BINARY_DIR}/${page}.gz
    DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/${page}
    VERBATIM)
  list(APPEND wsrelay_man_pages ${CMAKE_CURRENT_BINARY_DIR}/${page}.gz)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(wsrelay_man ALL DEPENDS ${wsrelay_man_pages})

# The configuration and the unit name installed paths, so they are written
# at install time (see the script).
configure_file(${CMAKE_CURRENT_LIST_DIR}/install-generated.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/install-generated.cmake @ONLY)
install(SCRIPT ${CMAKE_CURRENT_BINARY_DIR}/install-generated.cmake)

# ---- CPack ----
set(WSRELAY_PACKAGE_MAINTAINER "wsrelay developers <wsrelay@example.org>" CACHE STRING
  "Maintainer field of the .deb")
set(CPACK_PACKAGE_NAME wsrelay)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "${WSRELAY_PACKAGE_MAINTAINER}")
set(CPACK_GENERATOR DEB TGZ)
set(CPACK_SYSTEM_NAME "linux-${CMAKE_SYSTEM_PROCESSOR}")
set(CPACK_PACKAGE_FILE_NAME "wsrelay-${PROJECT_VERSION}-${CPACK_SYSTEM_NAME}")
set(CPACK_STRIP_FILES ON)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/cpack-project-config.cmake)
set(CPACK_WSRELAY_RUN_PREFIX "${CMAKE_INSTALL_PREFIX}")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# CPack makes CPACK_PACKAGE_DESCRIPTION_SUMMARY the synopsis line and this
# the extended description, indenting it as the control file wants.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "\
Every message any WebSocket client sends is relayed, unchanged, to every
connected client. Hosted by the CivetWeb embedded web server (linked in),
configured with YAML, with Prometheus metrics, a health check and a
graceful drain on SIGTERM. Ships a hardened systemd unit, not enabled on
installation.")
# Depends comes from the binaries themselves (dpkg-shlibdeps): libc6,
# libssl3, libyaml-0-2, libhiredis0.14, libnats3.4, libjansson4 and libcurl4
# (access control), libjwt0 (wsrelay-client --make-token) at the versions the
# build linked against.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# dpkg keeps a locally edited /etc/wsrelay/wsrelay.yaml across upgrades only
# if the file is declared a conffile.
wsrelay_install_dir(deb_config_dir "${CMAKE_INSTALL_SYSCONFDIR}/wsrelay" /usr SYSCONF)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/deb/conffiles "${deb_config_dir}/wsrelay.yaml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_BINARY_DIR}/deb/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

# The package test builds and runs the Release package; a sanitizer build
# is no package anyone ships, and its binaries need the sanitizer runtimes.
if(WSRELAY_BUILD_TESTS AND WSRELAY_SANITIZE STREQUAL "")
  add_subdirectory(tests/package)
endif()
