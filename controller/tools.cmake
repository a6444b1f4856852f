# qms-counter (the clerk's client, docs/counter.md) and qms-report (CSV
# reports from the store, docs/report.md).

# Protocol decoding and wording of qms-counter, shared with its tests and fuzz target.
add_library(qms_counter_msg STATIC counter_msg.c counter_text.c)
target_include_directories(qms_counter_msg PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(qms_counter_msg PUBLIC qms qms_warnings m)

add_executable(qms-counter counter_main.c counter_client.c counter_tui.c)
target_link_libraries(qms-counter PRIVATE qms_counter_msg)
target_compile_definitions(qms-counter PRIVATE QMS_VERSION="${PROJECT_VERSION}")

# The report: reading the store, grouping, CSV (a library for the tests and
# the fuzz target), and the program.
add_library(qms_report STATIC report_db.c report_calc.c report_csv.c)
target_include_directories(qms_report PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(qms_report PUBLIC qms_engine qms_counter_msg PkgConfig::SQLITE m)

add_executable(qms-report report_main.c)
target_link_libraries(qms-report PRIVATE qms_report)
target_compile_definitions(qms-report PRIVATE QMS_VERSION="${PROJECT_VERSION}")
