// SPI helpers of spawn's own statements: prepared once per process, run as the extension's
// owner (spawn's tables are not granted to the roles that call it).
#pragma once

#include "catalog.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace spawn {

// Returns *slot, preparing and keeping `sql` there on first use.
SPIPlanPtr PrepareKept(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types);

// Executes a prepared statement as the owner; raises on an SPI error. Returns the SPI code.
int ExecutePlanAsOwner(const Catalog *catalog, SPIPlanPtr plan, Datum *values, const char *nulls,
                       bool read_only, long count);

// Executes one SQL string with arguments as the owner; raises on an SPI error.
int ExecuteAsOwner(const Catalog *catalog, const char *sql, int nargs, Oid *types, Datum *values,
                   const char *nulls, bool read_only);

}  // namespace spawn
