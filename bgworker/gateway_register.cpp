// POST /api/v1/system: a host announces its system and actors. The callback address is the
// request's peer address with spawn.http_callback_port (or the system's entry in
// spawn.http_callback_ports), refused unless spawn.http_allowed_hosts allows it. In one
// transaction of its own (a batch of one job, as it changes the catalog), as spawn.http_role: the
// system is created when missing, the host declared as "sdk-<system>" (spawn.register_host) and
// every actor registered or updated (spawn.register_actor) with its actions bound to that host. Any
// failure stores nothing.
#include "bgworker/gateway.hpp"
#include "bgworker/gateway_stats.hpp"
#include "src/core/address_list.hpp"
#include "src/core/codec.hpp"
#include "src/core/json_text.hpp"
#include "src/settings.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
}

namespace spawn::gateway {

namespace {

// One actor's arguments of spawn.register_actor, as text (JSON where the argument is jsonb).
struct ActorArgs {
  std::string name, actions, kind, timers, channels, tags;
  bool stateful;
  int64 deactivate_ms, snapshot_ms;
};

// The whole registration (owned by its job).
struct RegisterWork {
  const char *system, *host, *url;
  const std::vector<ActorArgs> *actors;
};

// Runs a statement with text arguments (NULL entries are SQL NULL).
void Execute(const char *sql, int nargs, const char *const *args) {
  Oid types[16];
  Datum values[16];
  char nulls[16];
  for (int i = 0; i < nargs; ++i) {
    types[i] = TEXTOID;
    nulls[i] = args[i] == nullptr ? 'n' : ' ';
    values[i] = args[i] == nullptr ? static_cast<Datum>(0) : CStringGetTextDatum(args[i]);
  }
  if (SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0) < 0)
    elog(ERROR, "spawn: a registration statement failed");
}

// Creates the system when missing, declares the host, registers every actor (PG zone).
void RunRegister(void *arg) {
  const auto *w = static_cast<RegisterWork *>(arg);
  const char *system_args[] = {w->system};
  Execute(
      "SELECT spawn.create_system($1) WHERE NOT EXISTS "
      "(SELECT 1 FROM spawn.systems s WHERE s.name OPERATOR(pg_catalog.=) $1)",
      1, system_args);
  const char *host_args[] = {w->host, w->url};
  Execute("SELECT spawn.register_host($1, $2)", 2, host_args);
  for (const ActorArgs &a : *w->actors) {
    char deactivate[32], snapshot[32];
    snprintf(deactivate, sizeof deactivate, INT64_FORMAT, a.deactivate_ms);
    snprintf(snapshot, sizeof snapshot, INT64_FORMAT, a.snapshot_ms);
    const char *args[] = {a.name.c_str(),
                          a.actions.c_str(),
                          w->system,
                          a.kind.c_str(),
                          a.stateful ? "true" : "false",
                          deactivate,
                          snapshot,
                          a.timers.c_str(),
                          a.channels.c_str(),
                          a.tags.c_str(),
                          w->host};
    Execute(
        "SELECT spawn.register_actor($1, $2::jsonb, $3, kind => $4, stateful => $5::boolean, "
        "deactivate_timeout => $6::bigint, snapshot_timeout => $7::bigint, timers => $8::jsonb, "
        "channels => $9::jsonb, tags => $10::jsonb, host => $11)",
        11, args);
  }
}

// The kind's name in spawn, or nullptr for a kind spawn does not support.
const char *KindName(wire::ActorKind kind) {
  switch (kind) {
    case wire::ActorKind::kNamed:
      return "named";
    case wire::ActorKind::kUnnamed:
      return "unnamed";
    case wire::ActorKind::kPooled:
      return "pooled";
    default:
      return nullptr;
  }
}

// The kind's protocol name, for errors.
const char *WireKindName(wire::ActorKind kind) {
  switch (kind) {
    case wire::ActorKind::kProxy:
      return "PROXY";
    case wire::ActorKind::kTask:
      return "TASK";
    case wire::ActorKind::kProjection:
      return "PROJECTION";
    default:
      return "an unknown kind";
  }
}

// Quotes a string as JSON (registration strings are checked UTF-8 by the decoder).
std::string Quoted(const std::string &text) {
  std::string out;
  if (!wire::AppendJsonString(text, &out)) out = "\"\"";
  return out;
}

// spawn.register_actor's arguments for one announced actor; false with a message when spawn
// cannot serve it.
bool ActorArguments(const wire::ActorDefinition &actor, const std::string &host, ActorArgs *out,
                    std::string *message) {
  const char *kind = KindName(actor.kind);
  if (kind == nullptr) {
    *message = "actor \"" + actor.id.name + "\" has kind " + WireKindName(actor.kind) +
               ", which spawn does not support (NAMED, UNNAMED or POOLED)";
    return false;
  }
  out->name = actor.id.name;
  out->kind = kind;
  out->stateful = actor.kind != wire::ActorKind::kPooled && actor.stateful;
  out->deactivate_ms = actor.deactivation_timeout_ms.value_or(30000);
  out->snapshot_ms = actor.snapshot_timeout_ms.value_or(10000);
  out->actions = "{";
  for (const std::string &action : actor.actions) {
    if (out->actions.size() > 1) out->actions += ", ";
    out->actions += Quoted(action) + ": " + Quoted("host:" + host);
  }
  out->actions += "}";
  out->timers = "[";
  for (const wire::TimerAction &timer : actor.timer_actions) {
    if (out->timers.size() > 1) out->timers += ", ";
    out->timers += "{\"action\": " + Quoted(timer.action) +
                   ", \"every_ms\": " + std::to_string(timer.every_ms) + "}";
  }
  out->timers += "]";
  out->channels = "[";
  for (const wire::ChannelSubscription &channel : actor.channels) {
    if (out->channels.size() > 1) out->channels += ", ";
    out->channels += "{\"topic\": " + Quoted(channel.topic) + ", \"action\": " +
                     Quoted(channel.action.empty() ? "receive" : channel.action) + "}";
  }
  out->channels += "]";
  out->tags = "{";
  for (const auto &[key, value] : actor.tags) {
    if (out->tags.size() > 1) out->tags += ", ";
    out->tags += Quoted(key) + ": " + Quoted(value);
  }
  out->tags += "}";
  return true;
}

// The callback URL of a host registering from `request`'s peer for `system`; false with a
// message when the address is not allowed or a setting is invalid.
bool CallbackUrl(const Request &request, const std::string &system, std::string *url,
                 std::string *message, unsigned int *status) {
  std::vector<Network> allowed;
  std::map<std::string, int> ports;
  std::string error;
  *status = 500;
  if (!ParseAddressList(setting_http_allowed_hosts, &allowed, &error)) {
    *message = "spawn.http_allowed_hosts is invalid: " + error;
    return false;
  }
  if (!ParsePortOverrides(setting_http_callback_ports, &ports, &error)) {
    *message = "spawn.http_callback_ports is invalid: " + error;
    return false;
  }
  if (request.peer_text.empty() || !AddressAllowed(allowed, request.peer)) {
    *status = 403;
    *message = "callback address " + request.peer_text +
               " is not allowed (spawn.http_allowed_hosts); the database server calls a host "
               "only at an allowed address";
    return false;
  }
  const auto port = ports.find(system);
  const int callback_port = port != ports.end() ? port->second : setting_http_callback_port;
  *url = "http://" + (request.peer_v6 ? "[" + request.peer_text + "]" : request.peer_text) + ":" +
         std::to_string(callback_port);
  return true;
}

// Counts a refused registration, logs why and answers it.
void Refuse(const Request &request, unsigned int status, const std::string &message,
            Answer *answer) {
  StatsRecordRegistration(false);
  ereport(LOG, (errmsg("spawn: gateway registration from %s refused: %s", request.peer_text.c_str(),
                       message.c_str())));
  ProtoError(Endpoint::kRegister, status, message, answer);
}

// A registration waiting for its turn (alone: it changes the catalog).
class RegisterJob : public Job {
 public:
  // Takes the checked registration.
  RegisterJob(const Request &request, std::string system, std::string url,
              std::vector<ActorArgs> actors)
      : request_(request),
        system_(std::move(system)),
        host_("sdk-" + system_),
        url_(std::move(url)),
        actors_(std::move(actors)) {
    request_.body = nullptr;  // the body is not kept
    request_.size = 0;
    work_ = RegisterWork{system_.c_str(), host_.c_str(), url_.c_str(), &actors_};
    alone = true;
  }

  // Registers (PG zone).
  void Run() override { RunRegister(&work_); }

  // The RegistrationResponse.
  void Finish(bool ok, const TxError &error, Answer *answer) override {
    std::string message;
    if (!ok) {
      Refuse(request_, error.sqlstate == ERRCODE_INSUFFICIENT_PRIVILEGE ? 403 : 500,
             "registration of system \"" + system_ + "\" failed: " + ErrorText(error), answer);
      return;
    }
    StatsRecordRegistration(true);
    if (!wire::EncodeRegistrationResponse(wire::Status::kOk, "", "spawn-postgres", "1.0",
                                          wire::Spelling::kV1, &answer->body, &message))
      ProtoError(Endpoint::kRegister, 500, message, answer);
  }

  // Shown in pg_stat_activity.
  const char *What() const override { return "gateway registration"; }

 private:
  Request request_;
  std::string system_, host_, url_;
  std::vector<ActorArgs> actors_;
  RegisterWork work_{};
};

}  // namespace

// Decodes and checks a registration; its job, or nullptr with the refusal in *answer.
std::unique_ptr<Job> PrepareRegister(const Request &request, Answer *answer) {
  wire::RegistrationRequest r;
  std::string message, url;
  std::vector<ActorArgs> actors;
  unsigned int status = 400;
  if (request.size == 0) {
    message = "the body is empty; expected a RegistrationRequest";
  } else if (!wire::DecodeRegistrationRequest(request.body, request.size, nullptr, &r, &message)) {
    message = "invalid RegistrationRequest: " + message;
  } else if (r.system.empty()) {
    message = "RegistrationRequest.actor_system.name is empty";
  } else if (r.system.size() > 59) {
    message =
        "system name \"" + r.system + "\" is longer than 59 bytes (its host is named sdk-<system>)";
  } else if (CallbackUrl(request, r.system, &url, &message, &status)) {
    const std::string host = "sdk-" + r.system;
    status = 400;
    bool ok = true;
    for (const wire::ActorDefinition &actor : r.actors) {
      actors.emplace_back();
      if (!ActorArguments(actor, host, &actors.back(), &message)) {
        ok = false;
        break;
      }
    }
    if (ok) return std::make_unique<RegisterJob>(request, r.system, url, std::move(actors));
  }
  Refuse(request, status, message, answer);
  return nullptr;
}

}  // namespace spawn::gateway
