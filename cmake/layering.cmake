# sue_library(NAME FOLDER [EXCLUDE file...] [PUBLIC dep...] [PRIVATE dep...])
#
# A static library of FOLDER's *.cpp (not its subfolders). Its headers are seen by others only
# through a view in the build tree that holds links to FOLDER's own *.h under their repository
# path (build/include/NAME/FOLDER/x.h), and a library gets the views of the libraries it links.
# So `#include "web/server.h"` from reports/ is "file not found" unless sue_reports links sue_web:
# the include order is the link order, and a header that includes up the order fails the build.
# Source files of the project never see the repository root.
set(SUE_LIBRARIES "" CACHE INTERNAL "every sue_library, for options that apply to all")
set(SUE_SOURCES "" CACHE INTERNAL "every usage source's library, linked by the registry")

function(sue_library name folder)
  cmake_parse_arguments(ARG "" "" "EXCLUDE;PUBLIC;PRIVATE" ${ARGN})
  set(dir ${CMAKE_CURRENT_SOURCE_DIR}/${folder})
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/*.cpp)
  foreach(excluded IN LISTS ARG_EXCLUDE)
    list(REMOVE_ITEM sources ${dir}/${excluded})
  endforeach()
  file(GLOB headers CONFIGURE_DEPENDS ${dir}/*.h)
  set(view ${CMAKE_CURRENT_BINARY_DIR}/include/${name})
  file(REMOVE_RECURSE ${view})
  file(MAKE_DIRECTORY ${view}/${folder})
  foreach(header IN LISTS headers)
    get_filename_component(file_name ${header} NAME)
    file(CREATE_LINK ${header} ${view}/${folder}/${file_name} SYMBOLIC)
  endforeach()
  add_library(${name} STATIC ${sources})
  target_include_directories(${name} PUBLIC ${view})
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE})
  set(SUE_LIBRARIES ${SUE_LIBRARIES} ${name} CACHE INTERNAL "")
endfunction()

# sue_source(NAME FOLDER ...): a usage source under collectors/, which the registry links. With its
# row in collectors/registry/registry.h, this line is all a new source adds outside its folder.
function(sue_source name folder)
  sue_library(${name} ${folder} ${ARGN})
  target_link_libraries(${name} PUBLIC sue_collectors)
  set(SUE_SOURCES ${SUE_SOURCES} ${name} CACHE INTERNAL "")
endfunction()

# sue_channel(NAME FOLDER ...): a report delivery channel under delivery/, which the channel table
# (delivery/registry) links. With its row in delivery/registry/registry.h, this line is all a new
# channel adds outside its folder.
set(SUE_CHANNELS "" CACHE INTERNAL "every delivery channel's library, linked by the channel table")
function(sue_channel name folder)
  sue_library(${name} ${folder} ${ARGN})
  target_link_libraries(${name} PUBLIC sue_delivery)
  set(SUE_CHANNELS ${SUE_CHANNELS} ${name} CACHE INTERNAL "")
endfunction()
