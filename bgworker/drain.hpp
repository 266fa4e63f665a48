// Draining the mailbox: one transaction takes the due messages of a few actors, each actor's in
// delivery order, and runs them through the invoke path with each actor's state loaded and
// written once.
#pragma once

#include "src/shared.hpp"

namespace spawn {

// What one drain transaction did.
struct DrainResult {
  int processed;     // messages that ran (successfully or not)
  int failed;        // of which failed
  long next_due_ms;  // when nothing ran: how long until the next message is due (-1: none)
  int64 *replied;    // async request ids answered in this transaction
  int replied_count;
  bool more_due;  // the transaction was full (candidates or batch size): more may be due
};

// Runs one drain transaction; counters go to `slot`. Returns false after an error (logged).
bool DrainOnce(ProcessSlot *slot, DrainResult *result);

}  // namespace spawn
