# The core's layers (see vmm/CMakeLists.txt).
#
# vmm_layer(<name> DIRS <dir>... SOURCES <file>... [DEPENDS <layer>...]
#           [LIBS <PUBLIC|PRIVATE> <lib>...])
# makes the static library vmm_layer_<name> from SOURCES (which lie in
# DIRS, directories of vmm/), linked to the layers it DEPENDS on.
# vmm_check_layers(), called once all layers exist, makes every layer's
# build wait for a check of its directories' #include "dir/..." lines: a
# file may include its own layer's directories and those of the layers
# below it (DEPENDS, transitively), and nothing of a higher layer.

set(VMM_LAYER_CHECK_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/check_layer_includes.cmake")
set_property(GLOBAL PROPERTY VMM_LAYERS "")

function(vmm_layer name)
  cmake_parse_arguments(L "" "" "DIRS;SOURCES;DEPENDS;LIBS" ${ARGN})
  if(NOT L_DIRS OR NOT L_SOURCES)
    message(FATAL_ERROR "vmm_layer(${name}): DIRS and SOURCES are required")
  endif()
  set(target vmm_layer_${name})
  add_library(${target} STATIC ${L_SOURCES})
  target_include_directories(${target} PUBLIC
    ${CMAKE_CURRENT_SOURCE_DIR}
    ${CMAKE_CURRENT_BINARY_DIR}/generated)
  target_link_libraries(${target} PRIVATE vmm_compile_options)
  foreach(lower ${L_DEPENDS})
    # PUBLIC: a layer's headers include its lower layers' headers.
    target_link_libraries(${target} PUBLIC vmm_layer_${lower})
  endforeach()
  if(L_LIBS)
    target_link_libraries(${target} ${L_LIBS})
  endif()

  # The directories this layer may include: its own and, transitively,
  # those of every layer below it.
  set(allowed ${L_DIRS})
  foreach(lower ${L_DEPENDS})
    get_property(lower_allowed GLOBAL PROPERTY VMM_LAYER_${lower}_ALLOWED)
    if(NOT lower_allowed)
      message(FATAL_ERROR "vmm_layer(${name}): DEPENDS on '${lower}', which is not a layer defined before it")
    endif()
    list(APPEND allowed ${lower_allowed})
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  set_property(GLOBAL PROPERTY VMM_LAYER_${name}_ALLOWED ${allowed})
  set_property(GLOBAL PROPERTY VMM_LAYER_${name}_DIRS ${L_DIRS})
  set_property(GLOBAL APPEND PROPERTY VMM_LAYERS ${name})
endfunction()

function(vmm_check_layers)
  get_property(layers GLOBAL PROPERTY VMM_LAYERS)
  set(all_dirs "")
  foreach(layer ${layers})
    get_property(dirs GLOBAL PROPERTY VMM_LAYER_${layer}_DIRS)
    list(APPEND all_dirs ${dirs})
  endforeach()
  foreach(layer ${layers})
    get_property(dirs GLOBAL PROPERTY VMM_LAYER_${layer}_DIRS)
    get_property(allowed GLOBAL PROPERTY VMM_LAYER_${layer}_ALLOWED)
    set(files "")
    foreach(dir ${dirs})
      file(GLOB dir_files CONFIGURE_DEPENDS
           "${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.cpp" "${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.hpp")
      list(APPEND files ${dir_files})
    endforeach()
    set(stamp "${CMAKE_CURRENT_BINARY_DIR}/layer-${layer}.checked")
    string(REPLACE ";" "," allowed_arg "${allowed}")
    string(REPLACE ";" "," all_arg "${all_dirs}")
    string(REPLACE ";" "," dirs_arg "${dirs}")
    add_custom_command(OUTPUT "${stamp}"
      COMMAND ${CMAKE_COMMAND} -DLAYER=${layer} -DROOT=${CMAKE_CURRENT_SOURCE_DIR} "-DDIRS=${dirs_arg}"
              "-DALLOWED=${allowed_arg}" "-DALL_DIRS=${all_arg}" -DSTAMP=${stamp} -P ${VMM_LAYER_CHECK_SCRIPT}
      DEPENDS ${files} ${VMM_LAYER_CHECK_SCRIPT}
      COMMENT "Checking the includes of layer ${layer}"
      VERBATIM)
    add_custom_target(vmm_layer_${layer}_includes DEPENDS "${stamp}")
    add_dependencies(vmm_layer_${layer} vmm_layer_${layer}_includes)
  endforeach()
endfunction()
