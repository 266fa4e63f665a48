# PGXS build of the spawn extension (C++17). `make && make install` builds and installs;
# ./scripts/test.sh runs every test suite, ./scripts/run.sh starts a local cluster.
EXTENSION = spawn
MODULE_big = spawn
DATA = sql/spawn--1.0.sql
SOURCES = $(sort $(wildcard src/*.cpp) $(wildcard src/core/*.cpp) $(wildcard bgworker/*.cpp))

# The wire protocol's messages: protoc-c compiles src/core/proto/*.proto (and protobuf's own
# any.proto) into C next to them at build time; the generated files are never checked in.
PROTO_DIR = src/core/proto
PROTO_INCLUDE ?= /usr/include
PROTOS = $(PROTO_DIR)/spawn_actors.proto $(PROTO_DIR)/spawn_protocol.proto
PROTO_C = $(PROTOS:.proto=.pb-c.c) $(PROTO_DIR)/google/protobuf/any.pb-c.c
PROTO_H = $(PROTO_C:.c=.h)
OBJS = $(SOURCES:.cpp=.o) $(PROTO_C:.c=.o)
EXTRA_CLEAN = $(PROTO_C) $(PROTO_H) $(PROTO_DIR)/google

REGRESS = $(sort $(notdir $(basename $(filter-out sql/spawn--%,$(wildcard sql/*.sql)))))
REGRESS_OPTS = --inputdir=. --load-extension=spawn

PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
# Project includes are folder-qualified from the root ("src/core/names.hpp"). PostgreSQL's
# headers are system headers: GCC drops an -I that repeats an -isystem directory, so warnings
# from them are silenced and -Wall -Wextra -Werror holds for spawn's own code.
PG_CPPFLAGS = -I$(srcdir) -I$(PROTO_DIR) -isystem $(shell $(PG_CONFIG) --includedir-server) \
	-isystem $(shell $(PG_CONFIG) --includedir)/internal
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -fno-omit-frame-pointer
SHLIB_LINK = -lsodium -lprotobuf-c -lcurl -lmicrohttpd -lstdc++

# Track header dependencies, so changing a header rebuilds what includes it.
override autodepend = yes

# The JIT bitcode targets would need clang; spawn does not ship bitcode.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# One protoc-c run writes both files of a pattern rule's pair; spawn_protocol imports
# spawn_actors, so it is regenerated when that changes.
$(PROTO_DIR)/%.pb-c.c $(PROTO_DIR)/%.pb-c.h: $(PROTO_DIR)/%.proto
	protoc-c -I$(PROTO_DIR) -I$(PROTO_INCLUDE) --c_out=$(PROTO_DIR) $<
$(PROTO_DIR)/spawn_protocol.pb-c.c: $(PROTO_DIR)/spawn_actors.proto
$(PROTO_DIR)/google/protobuf/%.pb-c.c $(PROTO_DIR)/google/protobuf/%.pb-c.h: \
		$(PROTO_INCLUDE)/google/protobuf/%.proto
	protoc-c -I$(PROTO_INCLUDE) --c_out=$(PROTO_DIR) $<

# Every object waits for the generated headers on the first build; afterwards the tracked
# header dependencies rebuild exactly what includes a regenerated one.
$(OBJS): | $(PROTO_H)

# The scale-out extensions spawn_router and spawn_shard (router/, SQL only) install with spawn.
install: install-router
.PHONY: install-router
install-router:
	$(MAKE) -C router install PG_CONFIG=$(PG_CONFIG)

.PHONY: format
format:
	clang-format -i $(SOURCES) $(wildcard src/*.hpp src/core/*.hpp bgworker/*.hpp test/unit/*.cpp test/fuzz/*.cpp)
