# tests/fuzz/fuzz.cmake -- the fuzz targets (tests/fuzz/fuzz_NAME.c, each an
# LLVMFuzzerTestOneInput), built two ways (included from CMakeLists.txt):
#  - EGRET_FUZZ=ON (clang only; scripts/fuzz builds build-fuzz/ so): libFuzzer
#    executables fuzz_NAME, -fsanitize=fuzzer,address,undefined;
#  - otherwise, with the tests: replay executables fuzz_replay_NAME, the same
#    file and onefile.c's main, with the project's ordinary compiler, run by
#    the ctest fuzz_regressions over tests/fuzz/regressions/NAME and the
#    committed seeds in tests/fuzz/corpus/NAME.
# Each target: its name, then after ':' the plugin/cli sources it needs
# (the CLI's readers are not in libegret), separated by ','.
set(EGRET_FUZZ_TARGETS
  "engine" "decode" "pcapfile:bytesrc.c,pcapfile.c,pcapmap.c" "pcapng:bytesrc.c,pcapng.c"
  "dns" "http" "h2" "hpack" "tls" "content" "reasm" "catalog" "keylog" "config"
  "eve:jscan.c,tally.c,report.c")

set(EGRET_FUZZ_NAMES)
foreach(spec ${EGRET_FUZZ_TARGETS})
  string(REPLACE ":" ";" spec "${spec}")
  list(GET spec 0 name)
  set(cli)
  if(spec MATCHES ";")
    list(GET spec 1 cli)
    string(REPLACE "," ";" cli "${cli}")
  endif()
  list(TRANSFORM cli PREPEND ${CMAKE_SOURCE_DIR}/plugin/cli/)
  list(APPEND EGRET_FUZZ_NAMES ${name})
  if(EGRET_FUZZ)
    set(exe fuzz_${name})
    add_executable(${exe} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c ${cli})
    target_link_options(${exe} PRIVATE -fsanitize=fuzzer)
  else()
    set(exe fuzz_replay_${name})
    add_executable(${exe} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c
      ${CMAKE_SOURCE_DIR}/tests/fuzz/onefile.c ${cli})
  endif()
  target_include_directories(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/plugin/src
    ${CMAKE_SOURCE_DIR}/plugin/cli ${CMAKE_SOURCE_DIR}/tests/fuzz)
  target_link_libraries(${exe} PRIVATE egret_static)
  target_compile_definitions(${exe} PRIVATE FUZZ_DATADIR="${CMAKE_BINARY_DIR}")
endforeach()

if(NOT EGRET_FUZZ)
  add_test(NAME fuzz_regressions COMMAND bash ${CMAKE_SOURCE_DIR}/tests/fuzz/replay.sh
    ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR}/tests/fuzz ${EGRET_FUZZ_NAMES})
  set_tests_properties(fuzz_regressions PROPERTIES LABELS unit TIMEOUT 300
    ENVIRONMENT EGRET_DATADIR=${CMAKE_BINARY_DIR})
endif()
