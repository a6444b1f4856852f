# qms-sim: replays a day through the real engine and store (docs/sim.md).
# replay.c is a library: tests/sim and bench/bench_eta use it too.
if(NOT TARGET qms_store)
  return()
endif()
add_library(qms_replay STATIC ${CMAKE_CURRENT_LIST_DIR}/replay.c)
target_link_libraries(qms_replay PUBLIC qms_store)
add_executable(qms-sim ${CMAKE_CURRENT_LIST_DIR}/sim.c)
target_link_libraries(qms-sim PRIVATE qms_replay)
target_compile_definitions(qms-sim PRIVATE QMS_VERSION="${PROJECT_VERSION}")
