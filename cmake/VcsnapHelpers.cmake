# Small declarative helpers so every directory's CMakeLists.txt is a list.

# vcsnap_library(NAME <layer> SRCS ... DEPS ...) -> static library vcsnap_<layer>
function(vcsnap_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(vcsnap_${ARG_NAME} STATIC ${ARG_SRCS})
  target_include_directories(vcsnap_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(vcsnap_${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()

# vcsnap_test(NAME <name> SRCS ... DEPS ... [PROPERTIES ...]) -> a GoogleTest
# binary whose tests are registered one by one with CTest, each with the
# given CTest properties (e.g. FIXTURES_REQUIRED ceph LABELS ceph).
function(vcsnap_test)
  if(NOT VCSNAP_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;PROPERTIES" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${ARG_NAME} DISCOVERY_MODE PRE_TEST
                       PROPERTIES TIMEOUT 600 ${ARG_PROPERTIES})
endfunction()

# vcsnap_benchmark(NAME <name> SRCS ... DEPS ...) -> a Google Benchmark binary.
function(vcsnap_benchmark)
  if(NOT VCSNAP_BUILD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} benchmark::benchmark)
endfunction()
