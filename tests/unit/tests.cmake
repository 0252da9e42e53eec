# Unit tests (cmocka): one executable per module of common/ (and the pure modules of api/:
# rate_limit.c, snapshot_cache.c, registry_cache.c, query.c).
set(EDUMON_UNIT_TESTS test_period test_school test_token test_submission test_aggregate
    test_target test_catalog test_config test_snapshot test_balance test_csv test_jsonutil
    test_log test_idhash test_textfmt test_resp)
foreach(name ${EDUMON_UNIT_TESTS})
    add_executable(${name} unit/${name}.c)
    target_link_libraries(${name} PRIVATE edumon_common PkgConfig::CMOCKA)
    target_compile_definitions(${name} PRIVATE
        EDUMON_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
    add_test(NAME unit.${name} COMMAND ${name})
    set_tests_properties(unit.${name} PROPERTIES LABELS unit)
endforeach()

# The pure modules of api/, each tested against its own source file.
foreach(module rate_limit snapshot_cache registry_cache)
    add_executable(test_${module} unit/test_${module}.c ${CMAKE_SOURCE_DIR}/api/${module}.c)
    target_include_directories(test_${module} PRIVATE ${CMAKE_SOURCE_DIR}/api
        ${CMAKE_SOURCE_DIR}/common)
    target_link_libraries(test_${module} PRIVATE edumon_common PkgConfig::CMOCKA m Threads::Threads)
    add_test(NAME unit.test_${module} COMMAND test_${module})
    set_tests_properties(unit.test_${module} PROPERTIES LABELS unit)
endforeach()

# api/query.c, checked against evhttp's own query parser.
add_executable(test_query unit/test_query.c ${CMAKE_SOURCE_DIR}/api/query.c)
target_include_directories(test_query PRIVATE ${CMAKE_SOURCE_DIR}/api)
target_link_libraries(test_query PRIVATE PkgConfig::CMOCKA PkgConfig::LIBEVENT)
add_test(NAME unit.test_query COMMAND test_query)
set_tests_properties(unit.test_query PROPERTIES LABELS unit)

# The worker's district cache, tested against its own source file.
add_executable(test_district_cache unit/test_district_cache.c
    ${CMAKE_SOURCE_DIR}/worker/district_cache.c)
target_include_directories(test_district_cache PRIVATE ${CMAKE_SOURCE_DIR}/worker)
target_link_libraries(test_district_cache PRIVATE edumon_common PkgConfig::HIREDIS PkgConfig::CMOCKA)
target_compile_definitions(test_district_cache PRIVATE EDUMON_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_test(NAME unit.test_district_cache COMMAND test_district_cache)
set_tests_properties(unit.test_district_cache PROPERTIES LABELS unit)
