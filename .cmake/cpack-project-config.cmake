# CPACK_PROJECT_CONFIG_FILE: read by cpack once per generator, so each
# package gets its own install layout from the one build.
if(CPACK_GENERATOR STREQUAL "DEB")
  # A system package: programs under /usr, the configuration under /etc.
  # Installing into DESTDIR with the real prefix /usr (instead of CPack's
  # default, a staging folder as the prefix) is what lets the install step
  # see /usr and put the configuration in /etc, as GNUInstallDirs does.
  set(CPACK_SET_DESTDIR ON)
  set(CPACK_INSTALL_PREFIX "/usr")
  unset(ENV{WSRELAY_RUN_PREFIX})
else()
  # A relocatable tree (bin/, etc/, share/, lib/) like `cmake --install
  # --prefix`, meant to be unpacked at the configured prefix: the unit file
  # inside names that prefix (see .cmake/install-generated.cmake.in).
  set(ENV{WSRELAY_RUN_PREFIX} "${CPACK_WSRELAY_RUN_PREFIX}")
endif()
