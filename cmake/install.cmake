# SPDX-License-Identifier: MIT
# Install rules: headers, the library, libunitypes.pc and the CMake package.
#
# Components: `Runtime` is the shared object with its SONAME link (what a
# distribution's libunitypes0 ships); `Development` is everything needed to
# build against the library: headers, the libunitypes.so link, the static
# archive, libunitypes.pc and the CMake package (libunitypes-dev).
#
# A shared and a static build may be installed into the same prefix: each
# installs its own export set (unitypes-shared-targets.cmake or
# unitypes-static-targets.cmake) and unitypesConfig.cmake picks one.
# Everything is relocatable: nothing installed records the install prefix
# (unless CMAKE_INSTALL_LIBDIR is absolute, or UNITYPES_PC_RELOCATABLE is OFF).

if(BUILD_SHARED_LIBS)
  set(_ut_kind shared)
else()
  set(_ut_kind static)
endif()

# Where unitypesConfig.cmake goes (relative to the prefix, or absolute);
# follows CMAKE_INSTALL_LIBDIR unless set on the command line.
if(NOT UNITYPES_INSTALL_CMAKEDIR)
  set(UNITYPES_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/unitypes")
endif()
option(UNITYPES_PC_RELOCATABLE
  "Write libunitypes.pc with a \${pcfiledir}-relative prefix (OFF: absolute paths)" ON)

# --- library and headers ----------------------------------------------------
install(TARGETS unitypes EXPORT unitypes-${_ut_kind}-targets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT Runtime
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Runtime
    NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development)

# Public headers: only *.h, so include/unitypes/version.h.in stays behind; the
# generated version.h comes from the build tree.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT Development
  FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/unitypes/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/unitypes COMPONENT Development)

# --- CMake package ----------------------------------------------------------
install(EXPORT unitypes-${_ut_kind}-targets
  FILE unitypes-${_ut_kind}-targets.cmake
  NAMESPACE unitypes::
  DESTINATION ${UNITYPES_INSTALL_CMAKEDIR} COMPONENT Development)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/unitypesConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/unitypesConfig.cmake
  INSTALL_DESTINATION ${UNITYPES_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/unitypesConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/unitypesConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/unitypesConfigVersion.cmake
  DESTINATION ${UNITYPES_INSTALL_CMAKEDIR} COMPONENT Development)

# --- pkg-config -------------------------------------------------------------
# Stage 1 (now): project metadata. Stage 2 (at install time, when the prefix
# is final): prefix, libdir, includedir; see cmake/unitypes-pc.cmake.
# Modules that need extra libraries when linked statically add them with
#   set_property(TARGET unitypes APPEND PROPERTY UNITYPES_PC_LIBS_PRIVATE -lm)
get_target_property(_ut_libs_private unitypes UNITYPES_PC_LIBS_PRIVATE)
if(NOT _ut_libs_private)
  set(_ut_libs_private "")
endif()
string(REPLACE ";" " " _ut_libs_private "${_ut_libs_private}")
foreach(_ut_v IN ITEMS UT_PC_PREFIX UT_PC_LIBDIR UT_PC_INCLUDEDIR)
  set(${_ut_v} "@${_ut_v}@") # keep the placeholder for stage 2
endforeach()
set(UT_PC_LIBS_PRIVATE "${_ut_libs_private}")
configure_file(${PROJECT_SOURCE_DIR}/libunitypes.pc.in
  ${PROJECT_BINARY_DIR}/pkgconfig/libunitypes.pc.in @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/unitypes-pc.cmake
  ${PROJECT_BINARY_DIR}/pkgconfig/unitypes-pc.cmake COPYONLY)
install(CODE "
  set(UT_PC_TEMPLATE [[${PROJECT_BINARY_DIR}/pkgconfig/libunitypes.pc.in]])
  set(UT_PC_OUTPUT [[${PROJECT_BINARY_DIR}/pkgconfig/libunitypes.pc]])
  set(UT_PC_LIBDIR_IN [[${CMAKE_INSTALL_LIBDIR}]])
  set(UT_PC_INCDIR_IN [[${CMAKE_INSTALL_INCLUDEDIR}]])
  set(UT_PC_RELOCATABLE ${UNITYPES_PC_RELOCATABLE})
  include([[${PROJECT_BINARY_DIR}/pkgconfig/unitypes-pc.cmake]])
" COMPONENT Development)

unset(_ut_kind)
unset(_ut_libs_private)
