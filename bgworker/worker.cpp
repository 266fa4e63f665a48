// A mailbox worker: drains batches while there is work, then sleeps on its latch until a commit
// that enqueued messages due before its wake-up time wakes it (shared.cpp), or until the next
// delayed message or retry is due. After each drain transaction it wakes the spawn.wait callers
// and sends the reply notifications of what committed (reply_notify.cpp), and wakes another
// worker when the transaction was full. Started by the launcher; exits when the extension is
// gone.
#include "bgworker/drain.hpp"
#include "bgworker/process.hpp"
#include "bgworker/reply_notify.hpp"
#include "src/reply_notices.hpp"

extern "C" {
PGDLLEXPORT void spawn_worker_main(Datum arg);
}

// Entry point of "spawn worker N" (N = 1..spawn.workers).
void spawn_worker_main(Datum arg) {
  const int index = DatumGetInt32(arg);
  spawn::ProcessSlot *slot = spawn::ProcessStart(index, psprintf("spawn worker %d", index));
  spawn::ReplyNoticesDefer();
  MemoryContext loop_context =
      AllocSetContextCreate(TopMemoryContext, "spawn worker loop", ALLOCSET_DEFAULT_SIZES);
  // Mailbox statements are idle between batches; a long idle wait is safe because every commit
  // that enqueues sets this latch.
  constexpr long kIdleMs = 10000;
  for (;;) {
    spawn::ProcessBeginIteration(loop_context, true);
    spawn::WorkerAwake(slot);
    spawn::DrainResult result;
    const bool ok = spawn::DrainOnce(slot, &result);
    spawn::WakeWaiters(result.replied, result.replied_count);
    spawn::SendReplyNotices();
    if (ok && result.more_due) spawn::WakeIdleWorker(slot);
    if (ok && result.processed > 0) {
      spawn::ProcessCheckSignals();
      continue;
    }
    long wait = !ok ? 1000 : result.next_due_ms < 0 ? kIdleMs : Min(result.next_due_ms, kIdleMs);
    spawn::WorkerSleepsUntil(slot, wait);
    spawn::ProcessWait(wait);
  }
}
