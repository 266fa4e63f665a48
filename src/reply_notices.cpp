// Deferred reply notifications. A NOTIFY sent by a transaction makes PostgreSQL take the
// notification-queue lock (AccessExclusiveLock on object 0 of class 1262, one for the whole
// cluster) before the commit and hold it until the commit ends, WAL flush included. Two
// mailbox workers that both answered requests committed one after the other, and under load
// one waited 2 to 40 ms for the other's flush (docs/benchmarks.md, "Scheduler", session 3).
//
// A deferring worker keeps each notification with the (sub)transaction level that stored its
// reply: a rolled-back subtransaction drops its notifications (its reply is gone too), a
// committed one hands them to its parent, an aborted transaction drops them all. When the
// transaction commits, those left are exactly the replies that committed; the worker sends them
// right after (bgworker/reply_notify.cpp). Interrupts are held from the transaction's pre-commit
// until they are sent, so a SIGTERM cannot fall between the commit and the notifications. A
// crash there (kill -9) loses the notifications, as it would lose any the listeners had not
// read: a crash restart ends every listener's connection (docs/scheduler.md).
#include "src/reply_notices.hpp"

extern "C" {
#include "access/xact.h"
#include "commands/async.h"
#include "miscadmin.h"
#include "utils/memutils.h"
}

namespace spawn {

namespace {

// One collected notification.
struct Notice {
  int level;  // the (sub)transaction nesting level whose reply it announces
  char *channel;
  char *payload;
};

bool deferring = false;
MemoryContext notice_context = nullptr;  // holds the notices; reset once they are done
Notice *notices = nullptr;
int notice_count = 0;
int notice_capacity = 0;
bool committed = false;  // the notices belong to a committed transaction, to be sent
bool holding = false;    // interrupts are held for them (HOLD_INTERRUPTS in pre-commit)

// Drops every notice.
void ForgetNotices() {
  notices = nullptr;
  notice_count = notice_capacity = 0;
  committed = false;
  MemoryContextReset(notice_context);
}

// Drops the notices of a rolled-back subtransaction; hands a committed one's to its parent.
void OnSubTransactionEnd(SubXactEvent event, SubTransactionId, SubTransactionId, void *) {
  if (notice_count == 0) return;
  const int level = GetCurrentTransactionNestLevel();
  if (event == SUBXACT_EVENT_ABORT_SUB) {
    while (notice_count > 0 && notices[notice_count - 1].level >= level) --notice_count;
  } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
    for (int i = notice_count - 1; i >= 0 && notices[i].level >= level; --i)
      notices[i].level = level - 1;
  }
}

// Holds interrupts from pre-commit on when there are notices; keeps them after the commit,
// drops them after an abort.
void OnTransactionEnd(XactEvent event, void *) {
  switch (event) {
    case XACT_EVENT_PRE_COMMIT:
      if (notice_count > 0 && !holding) {
        HOLD_INTERRUPTS();
        holding = true;
      }
      break;
    case XACT_EVENT_COMMIT:
      committed = notice_count > 0;
      break;
    case XACT_EVENT_ABORT:
      // Committed notices wait for ReplyNoticesDone: this is the abort of the transaction
      // sending them, whose caller restores the holdoff count. Otherwise the error that aborted
      // the transaction has reset the holdoff count (errfinish), and its notices go.
      if (committed) break;
      holding = false;
      ForgetNotices();
      break;
    default:
      break;
  }
}

}  // namespace

// Switches this process to deferred notifications.
void ReplyNoticesDefer() {
  if (deferring) return;
  notice_context =
      AllocSetContextCreate(TopMemoryContext, "spawn reply notices", ALLOCSET_SMALL_SIZES);
  RegisterXactCallback(OnTransactionEnd, nullptr);
  RegisterSubXactCallback(OnSubTransactionEnd, nullptr);
  deferring = true;
}

// Sends the notification with the transaction, or collects it.
void ReplyNoticeQueue(const char *channel, const char *payload) {
  if (!deferring) {
    Async_Notify(channel, payload);
    return;
  }
  if (notice_count == notice_capacity) {
    notice_capacity = notice_capacity == 0 ? 16 : notice_capacity * 2;
    const Size bytes = sizeof(Notice) * notice_capacity;
    notices = static_cast<Notice *>(notices == nullptr ? MemoryContextAlloc(notice_context, bytes)
                                                       : repalloc(notices, bytes));
  }
  notices[notice_count++] =
      Notice{GetCurrentTransactionNestLevel(), MemoryContextStrdup(notice_context, channel),
             MemoryContextStrdup(notice_context, payload)};
}

// Counts the committed notices.
int ReplyNoticesCommitted() {
  return committed ? notice_count : 0;
}

// Hands the committed notices to fn.
void ReplyNoticesForEach(void (*fn)(const char *channel, const char *payload)) {
  for (int i = 0; i < ReplyNoticesCommitted(); ++i) fn(notices[i].channel, notices[i].payload);
}

// Forgets the committed notices and resumes interrupts.
void ReplyNoticesDone() {
  if (!deferring) return;
  if (committed) ForgetNotices();
  if (holding) {
    holding = false;
    RESUME_INTERRUPTS();
  }
}

}  // namespace spawn
