# SPDX-License-Identifier: MIT
# Run EXE with ARGS twice; the two outputs must be byte-identical.
execute_process(COMMAND ${EXE} ${ARGS} RESULT_VARIABLE rc1 OUTPUT_VARIABLE out1)
execute_process(COMMAND ${EXE} ${ARGS} RESULT_VARIABLE rc2 OUTPUT_VARIABLE out2)
if(NOT rc1 EQUAL rc2 OR NOT out1 STREQUAL out2)
  message(FATAL_ERROR "'${ARGS}' differs between two runs:\n${out1}\n----\n${out2}")
endif()
string(LENGTH "${out1}" len)
if(len LESS 200)
  message(FATAL_ERROR "'${ARGS}': suspiciously short output:\n${out1}")
endif()
