# bench_display: idle and blinking CPU of qms-display, call-to-screenshot
# latency (floor: the broker's echo), frame and announcement build times.
# (tests/ is configured after bench/, so the test support source is built in.)
if(QMS_WITH_SDL AND TARGET qms_display)
  add_executable(bench_display ${CMAKE_CURRENT_LIST_DIR}/bench_display.c
    ${CMAKE_SOURCE_DIR}/tests/support/support.c)
  target_include_directories(bench_display PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
  target_link_libraries(bench_display PRIVATE qms_display)
  target_compile_definitions(bench_display PRIVATE QMS_VOICE_DIR="${QMS_VOICE_DIR}"
    QMS_BIN_DIR="${CMAKE_BINARY_DIR}/bin" QMS_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    QMS_EXAMPLES="${CMAKE_SOURCE_DIR}/examples")
  add_dependencies(bench_display qms-display)
endif()
