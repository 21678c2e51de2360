# SPDX-License-Identifier: MIT
# Write a report with utsim, then check it with check_report.py.
execute_process(COMMAND ${EXE} --seed 3 --time 30 --report ${OUT} RESULT_VARIABLE rc
  OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "utsim --report exited with ${rc}")
endif()
execute_process(COMMAND ${PY} ${SCRIPT} ${OUT} 5 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "report check failed")
endif()
