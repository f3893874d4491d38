# Adds every immediate subfolder of the current source dir that has a CMakeLists.txt.
# tools/, tests/ and bench/ use it so each program or suite lives in its own folder.
function(sherry_add_subfolders)
  file(GLOB children RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT children)
  foreach(child ${children})
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child} AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()

# sherry_add_doctest(NAME SOURCES... LIBS ...): a doctest binary registered with CTest.
# Each TEST_CASE becomes its own CTest entry is overkill for 2 cores; one entry per binary.
function(sherry_add_doctest name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES} ${CMAKE_SOURCE_DIR}/tests/doctest_main.cpp)
  target_link_libraries(${name} PRIVATE doctest::doctest ${ARG_LIBS})
  add_test(NAME ${name} COMMAND ${name} --no-colors=true)
  if(ARG_TIMEOUT)
    set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  endif()
endfunction()
