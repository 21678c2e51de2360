# SPDX-License-Identifier: MIT
# Runs at install time (from cmake_install.cmake) and writes libunitypes.pc
# for the prefix actually being installed to, which `cmake --install
# --prefix P` may choose long after configuration.
#
# Inputs (set by the install(CODE) stanza in cmake/install.cmake):
#   UT_PC_TEMPLATE     configured libunitypes.pc.in in the build tree
#   UT_PC_OUTPUT       where to write the finished file in the build tree
#   UT_PC_LIBDIR_IN    CMAKE_INSTALL_LIBDIR (relative or absolute)
#   UT_PC_INCDIR_IN    CMAKE_INSTALL_INCLUDEDIR (relative or absolute)
#   UT_PC_RELOCATABLE  ON: prefix is derived from ${pcfiledir}
#   UT_PC_LIBS_PRIVATE Libs.private value
#   CMAKE_INSTALL_PREFIX (set by cmake_install.cmake: the install-time prefix)
#
# With a relative libdir the .pc file lives at <prefix>/<libdir>/pkgconfig,
# so prefix is ${pcfiledir} followed by one ".." per component of
# <libdir>/pkgconfig, and the installed tree can be moved anywhere. An
# absolute libdir pins the file to that place: then the prefix is written
# out as an absolute path.
if(UT_PC_RELOCATABLE AND NOT IS_ABSOLUTE "${UT_PC_LIBDIR_IN}")
  file(RELATIVE_PATH _ut_up "/ut-root/${UT_PC_LIBDIR_IN}/pkgconfig" "/ut-root")
  string(REGEX REPLACE "/$" "" _ut_up "${_ut_up}")
  set(UT_PC_PREFIX "\${pcfiledir}/${_ut_up}")
else()
  set(UT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
endif()

if(IS_ABSOLUTE "${UT_PC_LIBDIR_IN}")
  set(UT_PC_LIBDIR "${UT_PC_LIBDIR_IN}")
  set(_ut_pcdir "${UT_PC_LIBDIR_IN}/pkgconfig")
else()
  set(UT_PC_LIBDIR "\${prefix}/${UT_PC_LIBDIR_IN}")
  set(_ut_pcdir "${CMAKE_INSTALL_PREFIX}/${UT_PC_LIBDIR_IN}/pkgconfig")
endif()
if(IS_ABSOLUTE "${UT_PC_INCDIR_IN}")
  set(UT_PC_INCLUDEDIR "${UT_PC_INCDIR_IN}")
else()
  set(UT_PC_INCLUDEDIR "\${prefix}/${UT_PC_INCDIR_IN}")
endif()

configure_file("${UT_PC_TEMPLATE}" "${UT_PC_OUTPUT}" @ONLY)
# file(INSTALL) applies DESTDIR and records the file in install_manifest.txt.
file(INSTALL DESTINATION "${_ut_pcdir}" TYPE FILE FILES "${UT_PC_OUTPUT}")
unset(_ut_up)
unset(_ut_pcdir)
