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
  # Every test of this folder, this one and the plain add_test entries beside it, without a
  # tuning file: scheduled once, for when the folder's CMakeLists.txt is done.
  get_property(scheduled DIRECTORY PROPERTY SHERRY_TUNING_FILE_NONE_SCHEDULED)
  if(NOT scheduled)
    set_property(DIRECTORY PROPERTY SHERRY_TUNING_FILE_NONE_SCHEDULED ON)
    cmake_language(DEFER CALL sherry_tests_without_tuning_file)
  endif()
endfunction()

# Gives every CTest entry of the calling folder SHERRY_TUNING_FILE=none, so a developer's
# ~/.cache/sherry/tuning.json never changes what the tests run (the tests of the tuning file
# itself point the variable at their own files in-process). An entry whose ENVIRONMENT already
# names SHERRY_TUNING_FILE keeps its own. sherry_add_doctest schedules it for its folder; a test
# folder with only plain add_test entries calls it at its end. tests/check_test_environment.cmake
# (the CTest entry ctest_entries_have_no_tuning_file) fails on any entry left without it.
function(sherry_tests_without_tuning_file)
  get_property(tests DIRECTORY PROPERTY TESTS)
  foreach(test ${tests})
    get_test_property(${test} ENVIRONMENT environment)
    if(NOT environment MATCHES "(^|;)SHERRY_TUNING_FILE=")
      set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT SHERRY_TUNING_FILE=none)
    endif()
  endforeach()
endfunction()
