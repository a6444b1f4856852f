# bench_printer: bytes and wire time of a ticket for every sample service.
if(TARGET qms_printer)
  add_executable(bench_printer ${CMAKE_CURRENT_LIST_DIR}/bench_printer.c)
  target_link_libraries(bench_printer PRIVATE qms_printer)
  target_compile_definitions(bench_printer PRIVATE QMS_EXAMPLES="${CMAKE_SOURCE_DIR}/examples")
endif()
