// POST /api/v1/system/{system}/actors/spawn: each ActorId of a SpawnRequest becomes an instance
// of its parent (an unnamed actor) through spawn.spawn_actor, all in one subtransaction of the
// process's next batch, so a request that fails for one id spawns none. With ?revision=N, each
// instance's state is then set to its stored revision N (spawn.restore), for an instance that
// existed before.
#include <cerrno>
#include <cstdlib>

#include "bgworker/gateway.hpp"
#include "src/core/codec.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
}

namespace spawn::gateway {

namespace {

// The instances to spawn (owned by their job).
struct SpawnWork {
  const wire::SpawnRequest *request;
  int64 revision;  // 0: none
};

// Spawns every instance (PG zone).
void RunSpawn(void *arg) {
  const auto *w = static_cast<SpawnWork *>(arg);
  for (const wire::ActorRef &id : w->request->actors) {
    Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
    Datum values[3] = {CStringGetTextDatum(id.name.c_str()), CStringGetTextDatum(id.parent.c_str()),
                       CStringGetTextDatum(id.system.c_str())};
    if (SPI_execute_with_args("SELECT spawn.spawn_actor($1, $2, $3)", 3, types, values, nullptr,
                              false, 1) != SPI_OK_SELECT)
      elog(ERROR, "spawn: the gateway's spawn statement failed");
    if (w->revision <= 0) continue;
    Oid restore_types[3] = {TEXTOID, INT8OID, TEXTOID};
    Datum restore_values[3] = {values[0], Int64GetDatum(w->revision), values[2]};
    if (SPI_execute_with_args("SELECT spawn.restore($1, $2, $3)", 3, restore_types, restore_values,
                              nullptr, false, 1) != SPI_OK_SELECT)
      elog(ERROR, "spawn: the gateway's restore statement failed");
  }
}

// Parses ?revision=: a positive whole number.
bool ParseRevision(const std::string &text, int64 *out) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  *out = std::strtoll(text.c_str(), nullptr, 10);
  return *out > 0;
}

// A spawn request waiting for its batch, ordered by its first instance.
class SpawnJob : public Job {
 public:
  // Takes the decoded request and the revision to restore (0: none).
  SpawnJob(wire::SpawnRequest request, int64 revision) : r_(std::move(request)) {
    work_ = SpawnWork{&r_, revision};
    order = r_.actors.front().system + '\x1f' + r_.actors.front().name;
  }

  // Spawns (PG zone).
  void Run() override { RunSpawn(&work_); }

  // The SpawnResponse.
  void Finish(bool ok, const TxError &error, Answer *answer) override {
    std::string message;
    if (!ok) {
      ProtoError(Endpoint::kSpawn, 500, ErrorText(error), answer);
      return;
    }
    if (!wire::EncodeSpawnResponse(wire::Status::kOk, "", &answer->body, &message))
      ProtoError(Endpoint::kSpawn, 500, message, answer);
  }

  // Shown in pg_stat_activity.
  const char *What() const override { return "gateway spawn"; }

 private:
  wire::SpawnRequest r_;
  SpawnWork work_{};
};

}  // namespace

// Decodes and checks a spawn request; its job, or nullptr with the 400 in *answer.
std::unique_ptr<Job> PrepareSpawn(const Request &request, const Route &route, Answer *answer) {
  wire::SpawnRequest r;
  std::string message;
  int64 revision = 0;
  if (request.size == 0) {
    ProtoError(Endpoint::kSpawn, 400, "the body is empty; expected a SpawnRequest", answer);
    return nullptr;
  }
  if (!wire::DecodeSpawnRequest(request.body, request.size, nullptr, &r, &message)) {
    ProtoError(Endpoint::kSpawn, 400, "invalid SpawnRequest: " + message, answer);
    return nullptr;
  }
  if (!request.revision.empty() && !ParseRevision(request.revision, &revision)) {
    ProtoError(Endpoint::kSpawn, 400, "revision must be a positive whole number", answer);
    return nullptr;
  }
  if (r.actors.empty()) {
    ProtoError(Endpoint::kSpawn, 400, "SpawnRequest.actors is empty", answer);
    return nullptr;
  }
  for (wire::ActorRef &id : r.actors) {
    if (id.system.empty()) id.system = route.system;
    if (id.system != route.system || id.name.empty() || id.parent.empty()) {
      ProtoError(Endpoint::kSpawn, 400,
                 id.system != route.system
                     ? "the path names system \"" + route.system + "\" but an ActorId \"" +
                           id.system + "\""
                     : "every ActorId needs a name and a parent (the unnamed actor to spawn from)",
                 answer);
      return nullptr;
    }
  }
  return std::make_unique<SpawnJob>(std::move(r), revision);
}

}  // namespace spawn::gateway
