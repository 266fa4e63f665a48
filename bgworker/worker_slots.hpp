// Worker slots: how many mailbox workers one role's messages may occupy at once
// (spawn.max_workers_per_role), and when a role may borrow the worker kept for the others
// (docs/scheduler.md, "Who runs a message, and for how long").
#pragma once

#include "src/shared.hpp"

namespace spawn {

// True when `role` already occupies as many other workers as its share allows.
bool RoleAtItsShare(const ProcessSlot *self, Oid role);

// The roles that occupy their whole share in other workers, as an oid[]. With
// `leave_out_borrowers`, leaves out the roles that may borrow this worker (RoleMayBorrow).
Datum RolesAtTheirShare(const ProcessSlot *self, bool leave_out_borrowers);

// True when some role at its share may borrow this worker: see RoleMayBorrow.
bool AnyRoleMayBorrow(const ProcessSlot *self);

// True when `role`, at its share, may run in this worker too: the share is the default one
// (spawn.max_workers_per_role = 0), and every other worker running the role's messages has just
// run a streak of them quickly and is not inside a slow one now.
bool RoleMayBorrow(const ProcessSlot *self, Oid role);

// True when this worker should look for other roles' work before borrowing again: at most every
// kOthersRecheckMs while it borrows (that scan reads every due message of the roles left out).
bool TimeToLookForOtherRoles(TimestampTz now);

// Records that the worker looked for other roles' work at `now` and found none.
void NoOtherRolesFound(TimestampTz now);

// A borrowing transaction stops taking further actors after this long, so a worker it borrowed
// returns to the other roles quickly.
inline constexpr long kBorrowBudgetMs = 10;

// A worker that found nothing but left a role out at its share looks again after this long.
inline constexpr long kLookAgainMs = 250;

// Records that the worker starts running a message at `started`.
inline void SlotMessageStarts(ProcessSlot *slot, TimestampTz started) {
  slot->running_since = started;
}

// Records how long a message of `role` took, for RoleMayBorrow's streak.
void SlotMessageEnded(ProcessSlot *slot, Oid role, TimestampTz started, TimestampTz ended);

}  // namespace spawn
