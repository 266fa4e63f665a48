// Replies of asynchronous requests: stored sealed in spawn._replies by the workers, read by
// spawn.result and spawn.wait.
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"

namespace spawn {

// A reply as read back.
struct Reply {
  const char *status;  // "pending", "ok" or "error"
  Jsonb *response;     // may be NULL
  const char *error;   // for "error": the message, SQLSTATE, detail and hint it was raised with
  const char *sqlstate;
  const char *detail;  // NULL when the error had none
  const char *hint;
  const char *actor;
  const char *action;
  Oid requester;     // the role that made the request
  bool uncommitted;  // "pending" and sent by the current, not yet committed, transaction
};

// Reads the reply of request `id` with the latest snapshot; "pending" while the request is still
// in the mailbox. Raises 42704 when no such request exists (or its reply has expired), 42501
// unless the current user is the requester (or a member of it).
Reply ReadReply(const Catalog *catalog, int64 id);

// A request's identity and where its reply goes.
struct ReplyTarget {
  int64 id;
  const char *system;
  const char *actor;
  const char *action;
  const char *channel;
  Oid requester;
};

// Stores a reply, readable by the requester only, and sends NOTIFY with its id and status on
// the request's channel (the reply takes effect at commit, the notification at commit or, in a
// mailbox worker, right after it: reply_notices.hpp): the response, or with `error` set the
// error's message, SQLSTATE, detail and hint. A response is inserted (raising 23505 if the
// request has a reply already); an error replaces any reply there is. SPI must be connected.
void StoreReply(const Catalog *catalog, const ReplyTarget *target, const Jsonb *response,
                const ErrorData *error);

}  // namespace spawn
