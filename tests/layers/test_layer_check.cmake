# cmake -DCHECK=<check_layer_includes.cmake> -DFIXTURE=<tests/fixtures/layers>
#       -DVMM_DIR=<vmm/> -P test_layer_check.cmake
# The layer check refuses a lower layer that includes a higher one, naming
# the file, the line and the header; accepts layers that include only
# themselves and what is below; and accepts the real core's layers as the
# build declares them (vmm/CMakeLists.txt), so both directions are tested.
cmake_minimum_required(VERSION 3.25)

function(run_check layer dirs allowed all out_result out_text root)
  execute_process(COMMAND ${CMAKE_COMMAND} -DLAYER=${layer} -DROOT=${root} -DDIRS=${dirs}
                          -DALLOWED=${allowed} -DALL_DIRS=${all} -P ${CHECK}
                  RESULT_VARIABLE result OUTPUT_VARIABLE text ERROR_VARIABLE text)
  set(${out_result} ${result} PARENT_SCOPE)
  set(${out_text} "${text}" PARENT_SCOPE)
endfunction()

# kvm (below core) includes core/machine.hpp: refused, at kvm/bad.cpp:3:1.
run_check(kvm kvm kvm,support support,kvm,core result text ${FIXTURE})
if(result EQUAL 0)
  message(FATAL_ERROR "the check accepted kvm including core:\n${text}")
endif()
if(NOT text MATCHES "kvm/bad.cpp:3:1: layer 'kvm' includes 'core/machine.hpp', a higher layer's header")
  message(FATAL_ERROR "the refusal does not name the file, line and header:\n${text}")
endif()
if(text MATCHES "good.hpp")
  message(FATAL_ERROR "the check blamed a file that includes only what it may:\n${text}")
endif()

# core (above kvm) includes kvm: fine. support includes nothing: fine.
run_check(core core core,kvm,support support,kvm,core result text ${FIXTURE})
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the check refused core including kvm:\n${text}")
endif()

# The real layers, as vmm/CMakeLists.txt declares them (lowest first).
set(real_layers
  "support|support|support"
  "bus|bus|bus,support"
  "kvm|kvm|kvm,support"
  "config|config|config,bus,kvm,support"
  "plugin|plugin,runtime|plugin,runtime,config,bus,kvm,support"
  "boot|boot|boot,config,bus,kvm,support"
  "core|core|core,plugin,runtime,boot,config,bus,kvm,support"
  "control|control|control,core,plugin,runtime,boot,config,bus,kvm,support"
  "cli|cli|cli,plugin,runtime,config,bus,kvm,support")
set(all support,bus,kvm,config,plugin,runtime,boot,core,control,cli)
foreach(entry ${real_layers})
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 layer)
  list(GET parts 1 dirs)
  list(GET parts 2 allowed)
  run_check(${layer} ${dirs} ${allowed} ${all} result text ${VMM_DIR})
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "layer ${layer} of the real core includes a higher layer:\n${text}")
  endif()
endforeach()
message(STATUS "layer check: refuses kvm -> core, accepts core -> kvm and every real layer")
