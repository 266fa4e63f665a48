# The wire protocol's messages for CMake builds (unit tests, fuzz targets): protoc-c compiles
# src/core/proto/*.proto and protobuf's any.proto into the build tree. Needs SPAWN_TOP set to the
# checkout (defaults to the including project's source dir). Defines SPAWN_PROTO_C (generated C
# sources), SPAWN_PROTO_GEN_DIR (their include dir) and SPAWN_CODEC_SOURCES (the codec's C++).
if(NOT DEFINED SPAWN_TOP)
  set(SPAWN_TOP ${CMAKE_CURRENT_SOURCE_DIR})
endif()
find_program(PROTOC_C protoc-c REQUIRED)
set(SPAWN_PROTO_INCLUDE /usr/include CACHE PATH "where google/protobuf/any.proto is")
set(SPAWN_PROTO_DIR ${SPAWN_TOP}/src/core/proto)
set(SPAWN_PROTO_GEN_DIR ${CMAKE_BINARY_DIR}/proto)
file(MAKE_DIRECTORY ${SPAWN_PROTO_GEN_DIR})

set(SPAWN_PROTO_C ${SPAWN_PROTO_GEN_DIR}/spawn_actors.pb-c.c
                  ${SPAWN_PROTO_GEN_DIR}/spawn_protocol.pb-c.c
                  ${SPAWN_PROTO_GEN_DIR}/google/protobuf/any.pb-c.c)
add_custom_command(
  OUTPUT ${SPAWN_PROTO_C} ${SPAWN_PROTO_GEN_DIR}/spawn_actors.pb-c.h
         ${SPAWN_PROTO_GEN_DIR}/spawn_protocol.pb-c.h
         ${SPAWN_PROTO_GEN_DIR}/google/protobuf/any.pb-c.h
  COMMAND ${PROTOC_C} -I${SPAWN_PROTO_DIR} -I${SPAWN_PROTO_INCLUDE} --c_out=${SPAWN_PROTO_GEN_DIR}
          spawn_actors.proto spawn_protocol.proto google/protobuf/any.proto
  DEPENDS ${SPAWN_PROTO_DIR}/spawn_actors.proto ${SPAWN_PROTO_DIR}/spawn_protocol.proto
  WORKING_DIRECTORY ${SPAWN_PROTO_DIR}
  COMMENT "protoc-c: the Spawn wire protocol")

file(GLOB SPAWN_CODEC_SOURCES ${SPAWN_TOP}/src/core/*.cpp)
