# PGXS build of the spawn extension (C++17). `make && make install` builds and installs;
# ./scripts/test.sh runs every test suite, ./scripts/run.sh starts a local cluster.
EXTENSION = spawn
MODULE_big = spawn
DATA = sql/spawn--1.0.sql
SOURCES = $(sort $(wildcard src/core/*.cpp) $(wildcard src/*.cpp) $(wildcard bgworker/*.cpp))
OBJS = $(SOURCES:.cpp=.o)

REGRESS = $(sort $(notdir $(basename $(filter-out sql/spawn--%,$(wildcard sql/*.sql)))))
REGRESS_OPTS = --inputdir=. --load-extension=spawn

PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
# Project includes are folder-qualified from the root ("src/core/names.hpp"). PostgreSQL's
# headers are system headers: GCC drops an -I that repeats an -isystem directory, so warnings
# from them are silenced and -Wall -Wextra -Werror holds for spawn's own code.
PG_CPPFLAGS = -I$(srcdir) -isystem $(shell $(PG_CONFIG) --includedir-server) \
	-isystem $(shell $(PG_CONFIG) --includedir)/internal
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -fno-omit-frame-pointer
SHLIB_LINK = -lsodium -lprotobuf-c -lstdc++

# Track header dependencies, so changing a header rebuilds what includes it.
override autodepend = yes

# The JIT bitcode targets would need clang; spawn does not ship bitcode.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

.PHONY: format
format:
	clang-format -i $(SOURCES) $(wildcard src/core/*.hpp src/*.hpp bgworker/*.hpp test/unit/*.cpp test/fuzz/*.cpp)
