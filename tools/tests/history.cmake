# SPDX-License-Identifier: MIT
# Write a run's history with --history (and its --json summary), then check
# the history file with check_history.py.
execute_process(COMMAND ${EXE} --seed 3 --time 20 --json --history ${OUT}
  RESULT_VARIABLE rc OUTPUT_FILE ${OUT}.json)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "utsim --history: exit status ${rc}")
endif()
execute_process(COMMAND ${PY} ${SCRIPT} ${OUT} ${OUT}.json RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "history check failed")
endif()
