# The controller over MQTT end to end: real mosquitto, real qms-controller,
# N kiosks + M counters + a display, with the echo and commit floors (JSON lines).
if(TARGET qms-controller)
  add_executable(bench_controller ${CMAKE_CURRENT_LIST_DIR}/bench_controller.c)
  target_link_libraries(bench_controller PRIVATE qms qms_warnings PkgConfig::SQLITE Threads::Threads)
  target_compile_definitions(bench_controller PRIVATE QMS_BIN_DIR="${CMAKE_BINARY_DIR}/bin")
  add_dependencies(bench_controller qms-controller)
endif()
