# qms_add_fuzz(NAME SOURCES a.c ... LIBS lib ... CORPUS dir)
# Always: NAME_replay runs the seed corpus as a ctest (label "fuzz").
# With -DQMS_FUZZ=ON (clang): NAME is a libFuzzer binary in build/bin/fuzz/.
function(qms_add_fuzz name)
  cmake_parse_arguments(F "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  add_executable(${name}_replay ${F_SOURCES} ${CMAKE_SOURCE_DIR}/tests/support/fuzz_replay_main.c)
  target_link_libraries(${name}_replay PRIVATE qms qms_warnings ${F_LIBS})
  add_test(NAME fuzz_${name} COMMAND ${name}_replay ${F_CORPUS})
  set_tests_properties(fuzz_${name} PROPERTIES LABELS "fuzz" SKIP_RETURN_CODE 77)
  if(QMS_FUZZ)
    add_executable(${name} ${F_SOURCES})
    target_link_libraries(${name} PRIVATE qms qms_warnings ${F_LIBS})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin/fuzz)
    if(NOT TARGET fuzzers)
      add_custom_target(fuzzers)
    endif()
    add_dependencies(fuzzers ${name})
    # the corpus the fuzz run starts from
    file(APPEND ${CMAKE_BINARY_DIR}/fuzz-targets.txt "${name} ${F_CORPUS}\n")
  endif()
endfunction()

# Tests that cannot be built here because a tool is missing are still
# registered, as tests that report why and exit 77: ctest lists them as
# skipped (scripts/test.sh counts a skip as a failure once setup.sh ran)
# instead of their silently vanishing from the suite.
function(qms_missing_tests reason)
  foreach(name ${ARGN})
    add_test(NAME ${name}
      COMMAND sh -c "echo '${name} cannot run here: ${reason} (scripts/setup.sh installs it)'; exit 77")
    set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77 LABELS missing)
  endforeach()
endfunction()
