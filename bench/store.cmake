# Durable operations per second through the engine and the SQLite store
# (synchronous=FULL, group commits), with the bare-commit floor of the same disk.
if(TARGET qms_store)
  add_executable(bench_store ${CMAKE_CURRENT_LIST_DIR}/bench_store.c)
  target_link_libraries(bench_store PRIVATE qms_store PkgConfig::SQLITE)
  target_compile_definitions(bench_store PRIVATE QMS_EXAMPLES="${CMAKE_SOURCE_DIR}/examples")
endif()
