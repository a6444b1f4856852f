# Expected-wait accuracy of the engine against two classical predictors on
# the sample days (docs/eta.md).
if(TARGET qms_replay)
  add_executable(bench_eta ${CMAKE_CURRENT_LIST_DIR}/bench_eta.c)
  target_link_libraries(bench_eta PRIVATE qms_replay)
  target_compile_definitions(bench_eta PRIVATE QMS_EXAMPLES="${CMAKE_SOURCE_DIR}/examples")
endif()
