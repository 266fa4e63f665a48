// Index entries for a row that spawn writes with the heap API instead of the executor (state
// rows in state_store.cpp, mailbox rows in mailbox_row.cpp).
#pragma once

#include "src/pg.hpp"

extern "C" {
#include "utils/rel.h"
}

namespace spawn {

// Adds the tuple's entries to every index of `rel` (partial predicates and uniqueness checks
// included), as the executor does after an insert or a non-HOT update.
void InsertIndexEntries(Relation rel, HeapTuple tuple);

}  // namespace spawn
