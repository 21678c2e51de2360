# SPDX-License-Identifier: MIT
# cmake -DEXE=utsim -DARGS="a;b" -DGOLDEN=file -DWANT=n [-DREPORT=file] [-DUPDATE=1]
#       -P golden.cmake
# Runs utsim and compares its output byte for byte with a recorded golden
# file (the wall-clock "speed" object of --json output is removed first:
# it is the one part that is not a function of the seed). With REPORT, the
# HTML report written to that file is compared instead of stdout.
execute_process(COMMAND ${EXE} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(NOT rc STREQUAL "${WANT}")
  message(FATAL_ERROR "'${ARGS}': exit status ${rc}, expected ${WANT}\n${err}")
endif()
if(DEFINED REPORT)
  file(READ "${REPORT}" out)
endif()
string(REGEX REPLACE ",\"speed\":{[^}]*}" "" out "${out}")
if(UPDATE)
  file(WRITE "${GOLDEN}" "${out}")
  return()
endif()
file(READ "${GOLDEN}" want)
if(NOT out STREQUAL want)
  file(WRITE "${GOLDEN}.actual" "${out}")
  message(FATAL_ERROR "'${ARGS}': output differs from ${GOLDEN} (see ${GOLDEN}.actual)")
endif()
