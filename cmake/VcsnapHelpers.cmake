# Small declarative helpers so every directory's CMakeLists.txt is a list.

# vcsnap_library(NAME <layer> SRCS ... DEPS ...) -> static library vcsnap_<layer>
function(vcsnap_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(vcsnap_${ARG_NAME} STATIC ${ARG_SRCS})
  target_include_directories(vcsnap_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(vcsnap_${ARG_NAME} PUBLIC ${ARG_DEPS})
  vcsnap_sanitized_speed(vcsnap_${ARG_NAME})
endfunction()

# vcsnap_module(NAME <name> SRCS ... DEPS ...) -> <name>.so, a module the
# vcsnap program loads from beside itself on first use (util/module.h): built
# into the program's directory, only its entry point visible.
function(vcsnap_module)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(${ARG_NAME} MODULE ${ARG_SRCS})
  set_target_properties(${ARG_NAME} PROPERTIES
    PREFIX "" OUTPUT_NAME "${ARG_NAME}"
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/src/cli
    CXX_VISIBILITY_PRESET hidden)
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
endfunction()

# vcsnap_sanitized_speed(<target>): in the sanitizer build (Debug, no -O), the
# product's own code -- libraries and tools, where every byte of a backup is
# chunked, hashed and packed -- is compiled with -O1, as ASan's authors advise
# for speed; instrumentation is unchanged. Test binaries stay at -O0: their
# unity sources are the large compile steps and -O1 would double those.
function(vcsnap_sanitized_speed target)
  if(VCSNAP_SANITIZE)
    target_compile_options(${target} PRIVATE -O1)
  endif()
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
  # One unity source per test binary: GoogleTest's and the project's inline
  # code is then compiled once per binary instead of once per file (CI time).
  set_target_properties(${ARG_NAME} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 0)
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

# vcsnap_server_fixture(NAME <n> SCRIPT <scripts/...> DIR <dir> ARGS ... TIMEOUT <s>)
# -> CTest fixture <n>: test <n>_up runs "SCRIPT up DIR ARGS" before the
# first test that requires the fixture, <n>_down runs "SCRIPT down DIR" after
# the last; both labelled <n>.
function(vcsnap_server_fixture)
  cmake_parse_arguments(ARG "" "NAME;SCRIPT;DIR;TIMEOUT" "ARGS" ${ARGN})
  add_test(NAME ${ARG_NAME}_up
           COMMAND ${PROJECT_SOURCE_DIR}/scripts/${ARG_SCRIPT} up ${ARG_DIR} ${ARG_ARGS})
  add_test(NAME ${ARG_NAME}_down
           COMMAND ${PROJECT_SOURCE_DIR}/scripts/${ARG_SCRIPT} down ${ARG_DIR})
  set_tests_properties(${ARG_NAME}_up PROPERTIES FIXTURES_SETUP ${ARG_NAME}
                       LABELS ${ARG_NAME} TIMEOUT ${ARG_TIMEOUT})
  set_tests_properties(${ARG_NAME}_down PROPERTIES FIXTURES_CLEANUP ${ARG_NAME}
                       LABELS ${ARG_NAME} TIMEOUT 120)
endfunction()
