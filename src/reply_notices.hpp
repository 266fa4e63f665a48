// The notifications of async replies ({"id", "status"} on the request's reply channel). A
// mailbox worker defers them: they are collected while its drain transaction runs and sent in
// a short transaction of their own once that one has committed (bgworker/reply_notify.cpp), so
// that two workers' commits never queue on PostgreSQL's notification-queue lock, and a reply is
// notified only once it is committed (and durable, with synchronous_commit on).
#pragma once

#include "src/pg.hpp"

namespace spawn {

// From now on, this process collects reply notifications instead of sending them with its
// transaction (called once by a mailbox worker at start-up).
void ReplyNoticesDefer();

// Sends (or, in a deferring process, collects) the notification `payload` on `channel` for a
// reply stored by the current (sub)transaction: it goes out only if that transaction commits.
void ReplyNoticeQueue(const char *channel, const char *payload);

// How many notifications of the last committed transaction are still to be sent.
int ReplyNoticesCommitted();

// Calls fn for each notification of the last committed transaction still to be sent.
void ReplyNoticesForEach(void (*fn)(const char *channel, const char *payload));

// Forgets the notifications of the last committed transaction (sent, or given up), and lets
// interrupts in again: from the commit of a transaction with notifications until this call, a
// SIGTERM (pg_terminate_backend, DROP EXTENSION) waits, so that it never ends the worker
// between a reply's commit and its notification.
void ReplyNoticesDone();

}  // namespace spawn
