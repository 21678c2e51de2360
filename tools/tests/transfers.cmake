# SPDX-License-Identifier: MIT
# cmake -DEXE=utsim -DARGS="--transfers;700;..." [-DALL=1] -P transfers.cmake
# Runs a raft sweep with --transfers; passes when it exits 0 (no violation)
# and its totals line (stderr, "raft --transfers: ...") shows transfers that
# completed: at least one, and with -DALL=1 every one started (no abort,
# none superseded: what a run without faults must give).
execute_process(COMMAND ${EXE} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "'${ARGS}': exit status ${rc}, expected 0\n${out}\n${err}")
endif()
if(NOT err MATCHES "raft --transfers: [0-9]+ seeds, transfers: ([0-9]+) started, ([0-9]+) completed")
  message(FATAL_ERROR "'${ARGS}': no transfer totals on stderr:\n${err}")
endif()
set(started ${CMAKE_MATCH_1})
set(completed ${CMAKE_MATCH_2})
string(REGEX MATCH "([0-9]+) superseded[^,]*, ([0-9]+) aborted" _m "${err}")
set(superseded ${CMAKE_MATCH_1})
set(aborted ${CMAKE_MATCH_2})
if(completed EQUAL 0)
  message(FATAL_ERROR "'${ARGS}': no transfer completed (${started} started):\n${err}")
endif()
if(ALL AND (NOT completed EQUAL started OR NOT aborted EQUAL 0 OR NOT superseded EQUAL 0))
  message(FATAL_ERROR "'${ARGS}': ${started} transfers started, only ${completed} completed "
                      "(${aborted} aborted, ${superseded} superseded):\n${err}")
endif()
message(STATUS "${started} transfers started, ${completed} completed, ${aborted} aborted")
