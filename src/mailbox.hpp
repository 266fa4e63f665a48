// The mailbox: validating a message's target, sealing its payload, and inserting it. Used by
// spawn.cast and spawn.invoke_async, and by the launcher for timers and schedules.
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"

extern "C" {
#include "utils/timestamp.h"
}

namespace spawn {

// A message to enqueue.
struct Message {
  const char *system;
  const char *actor;
  const char *action;
  const char *register_ref;   // may be NULL
  Jsonb *payload;             // may be NULL
  Jsonb *metadata;            // may be NULL
  const char *reply_channel;  // NULL for casts
  const char *source;         // "cast", "async", "timer" or "schedule"
  TimestampTz deliver_at;
  Oid run_as;  // role whose privileges the handler runs with; InvalidOid: the current user
};

// Raises the same errors spawn.invoke would for an unknown system, actor, template or action,
// so a bad cast fails at cast time. SPI must be connected.
void ValidateTarget(const Catalog *catalog, const char *system, const char *actor,
                    const char *action, const char *register_ref);

// Inserts a message (payload sealed to its id) and arranges for the workers to be woken at
// commit. Returns the message id. SPI must be connected.
int64 Enqueue(const Catalog *catalog, const Message *message);

// The longest delay a message may be sent with: 10 years, in milliseconds.
inline constexpr int64 kMaxDelayMs = 10LL * 365 * 24 * 3600 * 1000;

// The delivery time `delay_ms` from now; raises 22023 for a negative delay or one beyond
// kMaxDelayMs (`what` names the argument in the message).
TimestampTz DeliveryAfter(int64 delay_ms, const char *what);

// Raises 22023 unless `at` is a finite time (an infinite one would never, or at once, come).
void RequireFiniteTime(TimestampTz at, const char *what);

}  // namespace spawn
