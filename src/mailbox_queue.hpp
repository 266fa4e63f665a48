// Reading one actor's queue in delivery order with a direct scan of _mailbox_actor_order: no
// SPI statement, so no plan that the planner could turn into a scan of every due message.
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"

extern "C" {
#include "access/genam.h"
#include "executor/tuptable.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"
}

namespace spawn {

// An open scan of one actor's messages due by a given time, in (deliver_at, id) order.
struct QueueScan {
  Relation heap;
  Relation index;
  Snapshot snapshot;
  IndexScanDesc scan;
  TupleTableSlot *slot;  // the current message, all columns deformed (slot->tts_values)
  const char *system;    // the actor: rows of another actor with the same actor_key are skipped
  const char *actor;
};

// Opens the scan of (system, actor)'s messages with deliver_at <= due_by, with a snapshot taken
// now (so it sees every commit that preceded the caller's claim of the actor).
void QueueScanBegin(const Catalog *catalog, const char *system, const char *actor,
                    TimestampTz due_by, QueueScan *queue);

// Moves to the next visible message; false at the end of the actor's due messages.
bool QueueScanNext(QueueScan *queue);

// Ends the scan (the relations stay locked until the transaction ends, as a statement's do).
void QueueScanEnd(QueueScan *queue);

}  // namespace spawn
