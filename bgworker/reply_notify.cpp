// The notifications of a drain transaction's replies leave in a transaction of their own, right
// after that transaction committed (src/reply_notices.cpp says why). That transaction writes
// nothing but its commit record, so it commits with synchronous_commit off: the replies it
// announces are already committed (and durable, with synchronous_commit on), and a crash that
// lost its commit record would lose only notifications, which a crash restart loses anyway
// (every listener's connection ends). So PostgreSQL's notification-queue lock is held for a
// few microseconds, never through a WAL flush, and two workers do not queue on it.
#include "bgworker/reply_notify.hpp"

#include "src/pg.hpp"
#include "src/reply_notices.hpp"

extern "C" {
#include "access/xact.h"
#include "commands/async.h"
#include "miscadmin.h"
#include "utils/guc.h"
}

namespace spawn {

// Sends the committed notifications; a failure (PostgreSQL's notification queue is full) is
// logged and those notifications are given up: the replies stay readable with spawn.result.
void SendReplyNotices() {
  MemoryContext outer_context = CurrentMemoryContext;
  const int count = ReplyNoticesCommitted();
  if (count == 0) {
    ReplyNoticesDone();
    return;
  }
  // An error resets the holdoff count (errfinish); the interrupts held since the drain's
  // pre-commit stay held until ReplyNoticesDone.
  const uint32 holdoff = InterruptHoldoffCount;
  StartTransactionCommand();
  PG_TRY();
  {
    (void)set_config_option("synchronous_commit", "off", PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
                            true, 0, false);
    ReplyNoticesForEach(Async_Notify);
    CommitTransactionCommand();
  }
  PG_CATCH();
  {
    InterruptHoldoffCount = holdoff;
    MemoryContextSwitchTo(outer_context);
    ErrorData *error = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    ereport(WARNING, (errmsg("spawn: could not send the notifications of %d replies: %s", count,
                             error->message),
                      errdetail("The replies are stored; spawn.result and spawn.wait read them.")));
    FreeErrorData(error);
  }
  PG_END_TRY();
  MemoryContextSwitchTo(outer_context);
  ReplyNoticesDone();
}

}  // namespace spawn
