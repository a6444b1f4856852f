# The printing library (ESC/POS ticket layout, serial layer, status) and the
# virtual printer qms-vprinter. Included by kiosk/CMakeLists.txt when SDL is on.
pkg_check_modules(ZBAR REQUIRED IMPORTED_TARGET zbar)

add_library(qms_printer STATIC
  ${CMAKE_CURRENT_LIST_DIR}/printer.c
  ${CMAKE_CURRENT_LIST_DIR}/printer_nv.c
  ${CMAKE_CURRENT_LIST_DIR}/ticket.c
  ${CMAKE_CURRENT_LIST_DIR}/escpos.c
  ${CMAKE_CURRENT_LIST_DIR}/raster.c
  ${CMAKE_CURRENT_LIST_DIR}/serial.c)
target_include_directories(qms_printer PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(qms_printer PUBLIC qms qms_warnings PkgConfig::SDL2
  PkgConfig::SERIALPORT PkgConfig::QRENCODE)

# The virtual printer's model (decoder + paper) and its renderer.
add_library(qms_vprinter STATIC
  ${CMAKE_CURRENT_LIST_DIR}/vprinter.c
  ${CMAKE_CURRENT_LIST_DIR}/vprinter_render.c)
target_include_directories(qms_vprinter PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(qms_vprinter PUBLIC qms_printer PkgConfig::ZBAR)

add_executable(qms-vprinter ${CMAKE_CURRENT_LIST_DIR}/vprinter_main.c)
target_link_libraries(qms-vprinter PRIVATE qms_vprinter)

# The technician's tool: list ports, ask the printer, print a test ticket.
add_executable(qms-printer ${CMAKE_CURRENT_LIST_DIR}/printer_tool.c)
target_link_libraries(qms-printer PRIVATE qms_printer)
