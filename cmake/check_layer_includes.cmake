# cmake -DLAYER=<name> -DROOT=<vmm dir> -DDIRS=<a,b> -DALLOWED=<a,b,...>
#       -DALL_DIRS=<a,b,...> [-DSTAMP=<file>] -P check_layer_includes.cmake
#
# Fails, with `file:line:col: ...` for each, when a .cpp/.hpp in DIRS has an
# #include "dir/..." of a layer directory (one of ALL_DIRS) that is not in
# ALLOWED: a lower layer including a higher one. Writes STAMP when clean.
cmake_minimum_required(VERSION 3.25)
foreach(var LAYER ROOT DIRS ALLOWED ALL_DIRS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_layer_includes: -D${var}= is required")
  endif()
endforeach()
string(REPLACE "," ";" dirs "${DIRS}")
string(REPLACE "," ";" allowed "${ALLOWED}")
string(REPLACE "," ";" all_dirs "${ALL_DIRS}")

set(errors "")
foreach(dir ${dirs})
  file(GLOB files "${ROOT}/${dir}/*.cpp" "${ROOT}/${dir}/*.hpp")
  list(SORT files)
  foreach(file ${files})
    file(STRINGS "${file}" lines)
    set(number 0)
    foreach(line IN LISTS lines)
      math(EXPR number "${number} + 1")
      if(line MATCHES "^[ \t]*#[ \t]*include[ \t]*\"([A-Za-z0-9_]+)/([^\"]*)\"")
        set(included_dir "${CMAKE_MATCH_1}")
        set(included "${CMAKE_MATCH_1}/${CMAKE_MATCH_2}")
        if(included_dir IN_LIST all_dirs AND NOT included_dir IN_LIST allowed)
          string(APPEND errors "${file}:${number}:1: layer '${LAYER}' includes '${included}', "
                               "a higher layer's header (it may include: ${ALLOWED})\n")
        endif()
      endif()
    endforeach()
  endforeach()
endforeach()

if(errors)
  message(NOTICE "${errors}")
  message(FATAL_ERROR "layer '${LAYER}' includes headers of a higher layer (see above)")
endif()
if(STAMP)
  file(TOUCH "${STAMP}")
endif()
