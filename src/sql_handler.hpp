// The fast path for LANGUAGE sql handlers: the function body is prepared once per backend as
// a kept SPI plan (PostgreSQL 15 re-parses and re-plans a SQL function in every transaction).
#pragma once

#include "src/pg.hpp"
#include "src/sql_expression.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace spawn {

// A prepared SQL handler body.
struct SqlHandlerPlan {
  SPIPlanPtr plan;
  bool read_only;             // STABLE/IMMUTABLE functions run with the caller's snapshot
  SqlExpression *expression;  // a body that is one expression is evaluated without an executor
};

// Prepares the body of `function` when it is a single-SELECT LANGUAGE sql function without
// SECURITY DEFINER or SET options whose one result column has the function's return type;
// otherwise returns false and the handler is called through fmgr. With `result_ignored` (a
// projection handler), a single INSERT, UPDATE or DELETE qualifies too and the result is not
// checked. Memory the plan's parser hook needs is allocated in `context`. SPI must be connected.
bool PrepareSqlHandler(Oid function, MemoryContext context, SqlHandlerPlan *out,
                       bool result_ignored = false);

// Runs a prepared handler with its arguments; returns its single result (isnull when the
// SELECT returned no row or NULL). The result lives until SPI_finish.
Datum ExecuteSqlHandler(const SqlHandlerPlan *handler, int nargs, const Datum *values,
                        const bool *nulls, const Oid *types, bool *isnull);

// Runs a prepared body whose result is ignored (every row of it, as fmgr_sql does for a
// statement that is not the function's result).
void ExecuteSqlStatement(const SqlHandlerPlan *handler, int nargs, const Datum *values,
                         const bool *nulls, const Oid *types);

}  // namespace spawn
