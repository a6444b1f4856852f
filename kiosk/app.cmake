# qms-kiosk: the touchscreen ticket kiosk (docs/kiosk.md).
# kiosk_core: what needs no SDL (settings, script parser, layout, texts,
# view, network side) -- unit-tested and fuzzed on its own.
add_library(qms_kiosk_core STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/kiosk_config.c
  ${CMAKE_CURRENT_SOURCE_DIR}/kiosk_script.c
  ${CMAKE_CURRENT_SOURCE_DIR}/kiosk_layout.c
  ${CMAKE_CURRENT_SOURCE_DIR}/kiosk_text.c
  ${CMAKE_CURRENT_SOURCE_DIR}/kiosk_view.c
  ${CMAKE_CURRENT_SOURCE_DIR}/kiosk_journal.c
  ${CMAKE_CURRENT_SOURCE_DIR}/kiosk_net.c)
target_include_directories(qms_kiosk_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(qms_kiosk_core PUBLIC qms qms_warnings m)

# The app itself needs the printing library (kiosk/printer.cmake).
if(NOT TARGET qms_printer)
  message(STATUS "qms-kiosk: not built until the printing library (qms_printer) exists")
  return()
endif()
add_executable(qms-kiosk
  ${CMAKE_CURRENT_SOURCE_DIR}/kiosk_main.c
  ${CMAKE_CURRENT_SOURCE_DIR}/kiosk_app.c
  ${CMAKE_CURRENT_SOURCE_DIR}/kiosk_draw.c
  ${CMAKE_CURRENT_SOURCE_DIR}/kiosk_prn.c
  ${CMAKE_CURRENT_SOURCE_DIR}/kiosk_take.c)
target_link_libraries(qms-kiosk PRIVATE qms_kiosk_core qms_printer PkgConfig::SDL2 qms_warnings)
