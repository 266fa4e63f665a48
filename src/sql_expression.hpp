// Handler bodies that are one expression (SELECT <expr>, with no table, qual or sub-plan):
// their compiled expression is kept per backend and evaluated directly, without building an
// executor (ExecutorStart rebuilt the projection program of the body on every call).
#pragma once

#include "src/pg.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace spawn {

// The kept compiled expression of one prepared body; all of it lives in `context`.
struct SqlExpression;

// Creates the (empty) kept state of a prepared body in `parent`, the memory of the cache that
// owns the plan; it is compiled on first use and again whenever the plan is rebuilt.
SqlExpression *SqlExpressionCreate(MemoryContext parent);

// Evaluates the body's single result column when its current generic plan is one expression:
// returns true and sets *value / *isnull (the value copied into the current memory context).
// Returns false, having done nothing, when the body must run through SPI (a plan that reads
// tables, or the expression is already being evaluated further up the stack).
bool SqlExpressionEvaluate(SqlExpression *expression, SPIPlanPtr plan, bool read_only,
                           ParamListInfo params, Datum *value, bool *isnull);

}  // namespace spawn
