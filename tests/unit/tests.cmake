# Unit tests (cmocka): one executable per module of common/ (and the pure modules of api/:
# rate_limit.c, snapshot_cache.c, registry_cache.c).
set(EDUMON_UNIT_TESTS test_period test_school test_token test_submission test_aggregate
    test_target test_catalog test_config test_snapshot test_balance test_csv test_jsonutil)
foreach(name ${EDUMON_UNIT_TESTS})
    add_executable(${name} unit/${name}.c)
    target_link_libraries(${name} PRIVATE edumon_common PkgConfig::CMOCKA)
    target_compile_definitions(${name} PRIVATE
        EDUMON_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
    add_test(NAME unit.${name} COMMAND ${name})
    set_tests_properties(unit.${name} PROPERTIES LABELS unit)
endforeach()

add_executable(test_rate_limit unit/test_rate_limit.c ${CMAKE_SOURCE_DIR}/api/rate_limit.c)
target_include_directories(test_rate_limit PRIVATE ${CMAKE_SOURCE_DIR}/api)
target_link_libraries(test_rate_limit PRIVATE PkgConfig::CMOCKA m)
add_test(NAME unit.test_rate_limit COMMAND test_rate_limit)
set_tests_properties(unit.test_rate_limit PROPERTIES LABELS unit)


add_executable(test_snapshot_cache unit/test_snapshot_cache.c
    ${CMAKE_SOURCE_DIR}/api/snapshot_cache.c)
target_include_directories(test_snapshot_cache PRIVATE ${CMAKE_SOURCE_DIR}/api
    ${CMAKE_SOURCE_DIR}/common)
target_link_libraries(test_snapshot_cache PRIVATE PkgConfig::CMOCKA)
add_test(NAME unit.test_snapshot_cache COMMAND test_snapshot_cache)
set_tests_properties(unit.test_snapshot_cache PROPERTIES LABELS unit)

add_executable(test_registry_cache unit/test_registry_cache.c
    ${CMAKE_SOURCE_DIR}/api/registry_cache.c)
target_include_directories(test_registry_cache PRIVATE ${CMAKE_SOURCE_DIR}/api
    ${CMAKE_SOURCE_DIR}/common)
target_link_libraries(test_registry_cache PRIVATE PkgConfig::CMOCKA)
add_test(NAME unit.test_registry_cache COMMAND test_registry_cache)
set_tests_properties(unit.test_registry_cache PROPERTIES LABELS unit)
