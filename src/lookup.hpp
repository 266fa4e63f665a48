// Reading one row of spawn's tables by a bigint key with the latest snapshot, so that a waiting
// backend sees rows committed after its own snapshot, whatever its isolation level.
#pragma once

#include "src/pg.hpp"

namespace spawn {

// Fetches the row of `relid` whose single-column bigint index `index` equals `key`, deformed
// into values/nulls (sized for the relation's columns); false when there is none. When
// `inserted_here` is not NULL it tells whether the current transaction inserted the row.
bool FetchLatestByKey(Oid relid, Oid index, int64 key, Datum *values, bool *nulls,
                      bool *inserted_here = nullptr);

}  // namespace spawn
