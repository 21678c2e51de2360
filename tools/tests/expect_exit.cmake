# SPDX-License-Identifier: MIT
# cmake -DEXE=prog -DARGS="a;b" -DWANT=n -P expect_exit.cmake
# Passes when prog exits with status WANT and, for usage errors, says why
# on stderr.
execute_process(COMMAND ${EXE} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(NOT rc STREQUAL "${WANT}")
  message(FATAL_ERROR "'${ARGS}': exit status ${rc}, expected ${WANT}\n${out}\n${err}")
endif()
if(WANT EQUAL 2 AND NOT err MATCHES "^utsim: ")
  message(FATAL_ERROR "'${ARGS}': no 'utsim: ' message on stderr: ${err}")
endif()
if(WANT EQUAL 1 AND NOT out MATCHES "replay: utsim --seed")
  message(FATAL_ERROR "'${ARGS}': no replay command in the output:\n${out}")
endif()
if(DEFINED EXPECT AND NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "'${ARGS}': expected '${EXPECT}' in the output:\n${out}")
endif()
