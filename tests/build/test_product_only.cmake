# cmake -DSOURCE=<repo> -DWORK=<scratch dir> -DGENERATOR=<gen> -P test_product_only.cmake
# A plain configure (no options) builds the product only: the `product`
# target (vmm, plugins, guests) exists and is the default, the test suite,
# benchmarks and fuzzers do not exist; -DBUILD_TESTING=ON brings them back.
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE "${WORK}")

function(targets_of build_dir out)
  execute_process(COMMAND ${CMAKE_COMMAND} --build "${build_dir}" --target help
                  RESULT_VARIABLE result OUTPUT_VARIABLE text ERROR_VARIABLE text)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "cannot list the targets of ${build_dir}:\n${text}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE}" -B "${WORK}/plain" -G "${GENERATOR}"
                RESULT_VARIABLE result OUTPUT_VARIABLE text ERROR_VARIABLE text)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "a plain configure failed:\n${text}")
endif()
targets_of("${WORK}/plain" plain)
foreach(wanted product vmm vmm-plugin-serial guest-simvirtio-demo)
  if(NOT plain MATCHES "(^|\n|/|[.][.][.] )${wanted}[: \n]")
    message(FATAL_ERROR "a plain configure has no target '${wanted}':\n${plain}")
  endif()
endforeach()
foreach(unwanted unit_tests e2e_tests bench-exit-loop fuzzers test-fixtures)
  if(plain MATCHES "(^|\n|/|[.][.][.] )${unwanted}[: \n]")
    message(FATAL_ERROR "a plain configure builds '${unwanted}', which only -DBUILD_TESTING=ON should")
  endif()
endforeach()

execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE}" -B "${WORK}/plain" -DBUILD_TESTING=ON -DVMM_FUZZERS=OFF
                RESULT_VARIABLE result OUTPUT_VARIABLE text ERROR_VARIABLE text)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "configuring with BUILD_TESTING=ON failed:\n${text}")
endif()
targets_of("${WORK}/plain" testing)
foreach(wanted unit_tests e2e_tests bench-exit-loop product)
  if(NOT testing MATCHES "(^|\n|/|[.][.][.] )${wanted}[: \n]")
    message(FATAL_ERROR "-DBUILD_TESTING=ON has no target '${wanted}'")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK}")
message(STATUS "a plain configure builds the product only; BUILD_TESTING=ON adds the tests")
