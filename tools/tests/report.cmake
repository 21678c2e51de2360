# SPDX-License-Identifier: MIT
# Write a run's report and a sweep's report with utsim, then check both
# with check_report.py (parsing them: SVG, rows, latency, throughput).
execute_process(COMMAND ${EXE} --seed 3 --time 30 --report ${OUT} RESULT_VARIABLE rc
  OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "utsim --report exited with ${rc}")
endif()
execute_process(COMMAND ${PY} ${SCRIPT} ${OUT} 5 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "report check failed")
endif()
# A sweep in which some seeds fail (a lying disk, only Raft's own checks):
# one page, a row per seed, the failing ones marked (seeds 15..24 hold both
# kinds since the configuration is drawn per seed).
execute_process(COMMAND ${EXE} --seeds 15..24 --nodes 3 --faults all --no-durability-checks
  --time 20 --report ${OUT}.sweep.html RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 1)
  message(FATAL_ERROR "utsim --seeds --report exited with ${rc}, expected 1")
endif()
execute_process(COMMAND ${PY} ${SCRIPT} --sweep ${OUT}.sweep.html 10 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "sweep report check failed")
endif()
# Another scenario's sweep report (echo: no leaders, its own figures).
execute_process(COMMAND ${EXE} --scenario echo --seeds 1..3 --time 10 --report ${OUT}.echo.html
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 1)
  message(FATAL_ERROR "utsim --scenario echo --seeds --report exited with ${rc}, expected 1")
endif()
execute_process(COMMAND ${PY} ${SCRIPT} --leaderless --sweep ${OUT}.echo.html 3 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "echo sweep report check failed")
endif()
