// SPI helpers of spawn's own statements: prepared once per process, run as the extension's
// owner (spawn's tables are not granted to the roles that call it).
#pragma once

#include "src/catalog.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace spawn {

// Returns *slot, preparing and keeping `sql` there on first use.
SPIPlanPtr PrepareKept(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types);

// Executes a prepared statement as the owner; raises on an SPI error. Returns the SPI code.
// With index_plans, it is planned with sequential scans, sorts and hash joins disabled: for
// queue scans whose plan must not depend on how full the queue was when it was planned.
int ExecutePlanAsOwner(const Catalog *catalog, SPIPlanPtr plan, Datum *values, const char *nulls,
                       bool read_only, long count, bool index_plans = false);

// Executes one SQL string with arguments as the owner; raises on an SPI error. index_plans as
// above: the launcher's sweeps must never fall back to reading a whole table.
int ExecuteAsOwner(const Catalog *catalog, const char *sql, int nargs, Oid *types, Datum *values,
                   const char *nulls, bool read_only, bool index_plans = false);

}  // namespace spawn
