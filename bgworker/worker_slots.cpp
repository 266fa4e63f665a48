// Worker slots. A role's messages occupy at most its share of the mailbox workers
// (spawn.max_workers_per_role; by default all but one), so a role whose handlers are slow always
// leaves a worker to the others. With the default share the last worker is lent, not reserved:
// while no other role has due work, a role may use it too, provided its messages are quick (each
// worker it occupies ran its last kFastStreak messages in under kFastMessageMs each, and is not
// inside a message older than that). The borrowing worker gives it back at its next
// transaction once another role has due work: it looks for such work at least every
// kOthersRecheckMs, and a borrowing transaction takes no further actor after kBorrowBudgetMs.
// An explicit spawn.max_workers_per_role is a hard cap and is never exceeded.
//
// The fields read here belong to other processes and are read without a lock: each is one
// aligned word, and a stale value only makes one transaction lend or keep a worker wrongly
// once (the next transaction looks again); no message ordering or exactly-once property depends
// on it (those come from the actor locks and the transaction).
#include "bgworker/worker_slots.hpp"

#include "src/settings.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

namespace spawn {

namespace {

constexpr long kFastMessageMs = 10;     // a message quicker than this counts as quick
constexpr int32 kFastStreak = 32;       // quick messages in a row before a role may borrow
constexpr long kOthersRecheckMs = 250;  // how often a borrowing worker looks for other roles

TimestampTz others_checked_at = 0;  // when this worker last found no other role's work

// The number of workers one role may occupy.
int RoleShare() {
  return setting_max_workers_per_role > 0 ? setting_max_workers_per_role
                                          : Max(setting_workers - 1, 1);
}

}  // namespace

// Counts the other workers running `role`'s messages against its share.
bool RoleAtItsShare(const ProcessSlot *self, Oid role) {
  SharedState *shared = Shared();
  int busy = 0;
  for (int i = 1; i <= kMaxWorkers; ++i) {
    const ProcessSlot *slot = &shared->processes[i];
    if (slot != self && slot->pid != 0 && slot->busy_role == role) ++busy;
  }
  return busy >= RoleShare();
}

// Checks the streak and the running message of every other worker that runs `role`.
bool RoleMayBorrow(const ProcessSlot *self, Oid role) {
  if (setting_max_workers_per_role > 0 || !OidIsValid(role)) return false;
  SharedState *shared = Shared();
  const TimestampTz now = GetCurrentTimestamp();
  for (int i = 1; i <= kMaxWorkers; ++i) {
    const ProcessSlot *slot = &shared->processes[i];
    if (slot == self || slot->pid == 0 || slot->busy_role != role) continue;
    if (slot->fast_role != role || slot->fast_streak < kFastStreak) return false;
    if (slot->running_id != 0 &&
        TimestampDifferenceExceeds(slot->running_since, now, static_cast<int>(kFastMessageMs)))
      return false;
  }
  return true;
}

// Lists the roles at their share (each once), optionally without those that may borrow.
Datum RolesAtTheirShare(const ProcessSlot *self, bool leave_out_borrowers) {
  SharedState *shared = Shared();
  Datum roles[kMaxWorkers];
  int count = 0;
  for (int i = 1; i <= kMaxWorkers; ++i) {
    const Oid role = shared->processes[i].busy_role;
    bool listed = false;
    for (int j = 0; j < count; ++j) listed |= DatumGetObjectId(roles[j]) == role;
    if (!OidIsValid(role) || listed || !RoleAtItsShare(self, role)) continue;
    if (leave_out_borrowers && RoleMayBorrow(self, role)) continue;
    roles[count++] = ObjectIdGetDatum(role);
  }
  return PointerGetDatum(construct_array(roles, count, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
}

// Looks for a role at its share that may borrow this worker.
bool AnyRoleMayBorrow(const ProcessSlot *self) {
  if (setting_max_workers_per_role > 0) return false;
  SharedState *shared = Shared();
  for (int i = 1; i <= kMaxWorkers; ++i) {
    const Oid role = shared->processes[i].busy_role;
    if (OidIsValid(role) && RoleAtItsShare(self, role) && RoleMayBorrow(self, role)) return true;
  }
  return false;
}

// The scan for other roles' work is due again kOthersRecheckMs after it last found none.
bool TimeToLookForOtherRoles(TimestampTz now) {
  return TimestampDifferenceExceeds(others_checked_at, now, static_cast<int>(kOthersRecheckMs));
}

// Remembers when the scan for other roles' work last found none.
void NoOtherRolesFound(TimestampTz now) {
  others_checked_at = now;
}

// Extends the worker's streak of quick messages of `role`, or starts it again.
void SlotMessageEnded(ProcessSlot *slot, Oid role, TimestampTz started, TimestampTz ended) {
  const bool quick = !TimestampDifferenceExceeds(started, ended, static_cast<int>(kFastMessageMs));
  if (!quick) {
    slot->fast_streak = 0;
  } else if (slot->fast_role == role) {
    if (slot->fast_streak < kFastStreak) ++slot->fast_streak;
  } else {
    slot->fast_streak = 1;
  }
  slot->fast_role = role;
}

}  // namespace spawn
