# qms-controller: the daemon around the engine and the store.
# The protocol codec is a library of its own: the fuzz target and clients use it.
add_library(qms_proto STATIC ${CMAKE_CURRENT_LIST_DIR}/proto.c)
target_include_directories(qms_proto PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(qms_proto PUBLIC qms qms_warnings m)

if(TARGET qms_store)
  add_executable(qms-controller
    ${CMAKE_CURRENT_LIST_DIR}/controller_main.c
    ${CMAKE_CURRENT_LIST_DIR}/controller_dispatch.c
    ${CMAKE_CURRENT_LIST_DIR}/controller_publish.c)
  target_link_libraries(qms-controller PRIVATE qms_store qms_proto qms_engine qms qms_warnings)
  target_compile_definitions(qms-controller PRIVATE QMS_VERSION="${PROJECT_VERSION}")
  install(TARGETS qms-controller RUNTIME DESTINATION bin)
endif()
