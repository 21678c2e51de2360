# SPDX-License-Identifier: MIT
# cmake -DEXE=prog -DSCRIPT=/usr/bin/script -DTIMEOUT=/usr/bin/timeout -P tty_sweep.cmake
# A sweep on a terminal draws a progress bar. Over the whole seed range
# (0..2^64-1, whose seed count does not fit in 64 bits) it must keep
# running, not die computing the bar: `timeout` stops it after 3 s (124).
execute_process(COMMAND ${SCRIPT} -qec true /dev/null RESULT_VARIABLE pty_rc
  OUTPUT_QUIET ERROR_QUIET)
if(NOT pty_rc EQUAL 0)
  message("SKIP: no pseudo-terminal for script(1)")
  return()
endif()
execute_process(
  COMMAND ${SCRIPT} -qec "${TIMEOUT} 3 ${EXE} --seeds 0..18446744073709551615 --time 1" /dev/null
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL "124")
  message(FATAL_ERROR "tty sweep: exit status ${rc}, expected 124 (stopped by timeout)\n${out}\n${err}")
endif()
if(NOT out MATCHES "/18446744073709551616 seeds, [0-9]+ failing")
  message(FATAL_ERROR "tty sweep: no progress line in the output:\n${out}")
endif()
