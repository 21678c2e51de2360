# SPDX-License-Identifier: MIT
# ut_add_fault_build(NAME DEFINE [DEFINE ...])
#
# A deliberately broken variant of the library for mutation tests: the
# sources of unitypes_objects compiled again, with the given preprocessor
# definitions (e.g. UT__FAULT_FORGET_VOTE, a test-only switch in the source
# that plants one bug), into the static library target unitypes_<NAME>. It
# is EXCLUDE_FROM_ALL: only what links it (a test's executable) builds it.
# Link it instead of unitypes_internal; it carries the same include
# directories and build flags.
#
#   ut_add_fault_build(forget_vote UT__FAULT_FORGET_VOTE)
#   add_executable(utsim_forget_vote ...)
#   target_link_libraries(utsim_forget_vote PRIVATE unitypes_forget_vote)
#
# Call it after add_subdirectory(src), which defines unitypes_objects.
# Calling it again with the same NAME and DEFINEs (tests/ and tools/ may
# both need a variant) reuses the first target; other DEFINEs are an error.
function(ut_add_fault_build name)
  if(ARGC LESS 2)
    message(FATAL_ERROR "ut_add_fault_build(${name}): give at least one DEFINE")
  endif()
  get_property(_prev GLOBAL PROPERTY UT_FAULT_BUILD_${name})
  if(TARGET unitypes_${name})
    if(NOT "${_prev}" STREQUAL "${ARGN}")
      message(FATAL_ERROR "ut_add_fault_build(${name}): already defined with ${_prev}")
    endif()
    return()
  endif()
  set_property(GLOBAL PROPERTY UT_FAULT_BUILD_${name} "${ARGN}")
  if(NOT TARGET unitypes_objects)
    message(FATAL_ERROR "ut_add_fault_build(${name}): unitypes_objects is not defined yet")
  endif()
  get_target_property(_srcs unitypes_objects SOURCES)
  get_target_property(_srcdir unitypes_objects SOURCE_DIR)
  set(_abs)
  foreach(_s IN LISTS _srcs)
    if(IS_ABSOLUTE "${_s}")
      list(APPEND _abs "${_s}")
    else()
      list(APPEND _abs "${_srcdir}/${_s}")
    endif()
  endforeach()
  add_library(unitypes_${name} STATIC EXCLUDE_FROM_ALL ${_abs})
  target_compile_definitions(unitypes_${name} PRIVATE UT_BUILDING ${ARGN})
  target_include_directories(unitypes_${name} PUBLIC
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include ${_srcdir})
  target_link_libraries(unitypes_${name} PUBLIC unitypes_build_flags)
endfunction()
