# bench_kiosk: tap -> first printer byte with the controller on loopback, the
# kiosk's resident memory and idle CPU (real broker, controller, vprinter).
if(TARGET qms-kiosk AND TARGET qms-controller AND TARGET qms-vprinter)
  add_executable(bench_kiosk ${CMAKE_CURRENT_LIST_DIR}/bench_kiosk.c
    ${CMAKE_SOURCE_DIR}/tests/support/support.c)
  target_include_directories(bench_kiosk PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
  target_link_libraries(bench_kiosk PRIVATE qms qms_warnings)
  target_compile_definitions(bench_kiosk PRIVATE QMS_BIN_DIR="${CMAKE_BINARY_DIR}/bin"
    QMS_SOURCE_DIR="${CMAKE_SOURCE_DIR}" QMS_EXAMPLES="${CMAKE_SOURCE_DIR}/examples")
  add_dependencies(bench_kiosk qms-kiosk qms-controller qms-vprinter)
endif()
