// The invoke path, shared by spawn.invoke and the scheduler's workers.
//
// An actor is opened (locked, fetched, decrypted), runs one or more actions, and is closed
// (its new state sealed and written once). spawn.invoke does all three for one action; a worker
// opens an actor once for a batch of its messages.
#pragma once

#include "src/actor_lock.hpp"
#include "src/catalog.hpp"
#include "src/pg.hpp"
#include "src/state_store.hpp"

namespace spawn {

// One invocation as requested by a caller.
struct InvokeRequest {
  const char *system;
  const char *actor;
  const char *action;
  Jsonb *payload;            // may be NULL
  Jsonb *metadata;           // may be NULL
  const char *register_ref;  // template to spawn the instance from if missing, or NULL
};

// An actor opened for processing.
struct OpenActor {
  const Catalog *catalog;
  const Definition *definition;
  bool pooled;            // pooled actors have no row, lock or state
  InstanceRow row;        // valid unless pooled
  ActorLockHold lock;     // its advisory lock as ActorOpen took it (not taken: row is ours)
  Jsonb *state;           // the state as read, then after each action that ran
  bool activated;         // init has run (or the instance was active)
  bool touched;           // an action ran (ActorClose has something to write)
  int changes;            // actions that changed the state so far (each is one revision)
  bool checkpoint;        // a handler asked for a snapshot of the state it leaves
  List *journal;          // journal entries recorded for those changes, written at close
  MemoryContext context;  // holds state and replies across the actions of a batch
};

// Runs one invocation in the current transaction and returns the reply (NULL for no reply),
// allocated in the caller's memory context. Connects SPI itself.
Jsonb *Invoke(const InvokeRequest *request);

// Validates the names of a request; raises 42602 for a bad one.
void CheckRequestNames(const InvokeRequest *request);

// Opens an actor: waits for (or, with wait = false, tries) its single-writer lock, fetches the
// instance (spawning it from register_ref if missing) and decrypts the state. Returns false only
// when wait is false and another transaction holds the lock. SPI must be connected.
bool ActorOpen(const Catalog *catalog, const InvokeRequest *request, bool wait, OpenActor *out);

// Claims an actor for a scheduler process without waiting: takes its advisory lock and reads
// its row, unless another transaction holds either (then returns false, holding nothing). A
// missing instance is claimed too (row->exists is then false). Release the hold with
// ActorLockLetGo.
bool ActorTryClaim(const Catalog *catalog, const char *system, const char *actor, InstanceRow *row,
                   ActorLockHold *hold);

// Runs one action on an open actor (running init first if the instance is inactive); the new
// state and the reply are copied into actor->context. Raises the handler's errors.
Jsonb *ActorRun(OpenActor *actor, const InvokeRequest *request);

// Writes the actor back: a new revision if its state changed (with its journal entries and
// projections), and its activity time. Does nothing when no action ran.
void ActorClose(OpenActor *actor);

}  // namespace spawn
