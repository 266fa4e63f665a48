// jsonb values sealed with the state store key: states, mailbox payloads, replies, schedules.
#pragma once

#include "src/core/envelope.hpp"
#include "src/pg.hpp"

namespace spawn {

// A sealed value as stored in a row: key id, nonce and ciphertext columns.
struct SealedValue {
  int64 key_id;
  bytea *nonce;
  bytea *ciphertext;
};

// Seals a jsonb value under the configured key (raises when no key is configured).
SealedValue SealJsonb(const envelope::Binding &binding, const Jsonb *value);

// Opens a sealed value; `what` names it in errors, e.g. "state of actor \"a\"". Raises XX001
// when it was sealed under another key, altered, or belongs to another binding.
Jsonb *OpenJsonb(const envelope::Binding &binding, const SealedValue &sealed, const char *what);

// OpenJsonb for a value named by `what_format` with one %s, `name`: the name is formatted only
// when an error is raised, so a successful open (every invoke's) formats nothing.
Jsonb *OpenJsonbNamed(const envelope::Binding &binding, const SealedValue &sealed,
                      const char *what_format, const char *name);

// The binding of a value of `purpose` for (system, actor) at `number` (revision or message id).
envelope::Binding MakeBinding(const char *purpose, const char *system, const char *actor,
                              int64 number);

}  // namespace spawn
