# wsrelay_install_dir(<out> <dir> <prefix> [SYSCONF])
#
# The absolute form of a GNUInstallDirs directory (CMAKE_INSTALL_<dir>) for a
# given prefix, by GNUInstallDirs' own rules: an absolute dir stays as it is,
# and with SYSCONF the prefixes / and /usr put it under /etc, /opt/<pkg>
# under /etc/opt/<pkg>. GNUInstallDirs applies these rules once, to the
# prefix known at configure time; the install step needs them again because
# `cmake --install --prefix` and CPack choose the prefix later. Used both at
# configure time (the .deb's conffiles) and at install time.
function(wsrelay_install_dir out dir prefix)
  cmake_parse_arguments(PARSE_ARGV 3 arg "SYSCONF" "" "")
  string(REGEX REPLACE "/+$" "" prefix "${prefix}")
  if(IS_ABSOLUTE "${dir}")
    set(full "${dir}")
  elseif(arg_SYSCONF AND prefix MATCHES "^(/usr)?$")
    set(full "/${dir}")
  elseif(arg_SYSCONF AND prefix MATCHES "^/opt/(.+)$")
    set(full "/${dir}/opt/${CMAKE_MATCH_1}")
  else()
    set(full "${prefix}/${dir}")
  endif()
  set(${out} "${full}" PARENT_SCOPE)
endfunction()
