// libmicrohttpd's access handler: collects the body (bounded by spawn.http_max_body), routes
// the request and answers it. Health and metrics are served at once; the writing endpoints
// (invoke, spawn, registration) decode their request into a job, queue it for the next batch
// and suspend the connection (gateway_batch.cpp); once the batch has committed the connection
// is resumed, the handler called again, and it queues the ticket's answer. It is called from
// MHD_run in the worker's only thread, never while a batch runs; every database call below it
// goes through RunRequestTransaction, which catches PostgreSQL errors, so none crosses
// libmicrohttpd's frames.
#include "bgworker/gateway_request.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

#include <cstring>

#include "bgworker/gateway.hpp"
#include "bgworker/gateway_batch.hpp"
#include "bgworker/gateway_stats.hpp"
#include "src/settings.hpp"

namespace spawn::gateway {

namespace {

// What a connection's current request has collected so far, and its ticket once queued.
struct Pending {
  std::string body;
  bool too_large = false;
  Ticket ticket;
};

// True for the content types a protobuf body may carry (none given is accepted too).
bool ProtobufContentType(const char *type) {
  if (type == nullptr) return true;
  static const char *const kAccepted[] = {"application/octet-stream", "application/protobuf",
                                          "application/x-protobuf"};
  for (const char *accepted : kAccepted) {
    const size_t n = strlen(accepted);
    if (strncasecmp(type, accepted, n) == 0 && (type[n] == '\0' || type[n] == ';')) return true;
  }
  return false;
}

// The peer's address into the request.
void ReadPeer(MHD_Connection *connection, Request *request) {
  const MHD_ConnectionInfo *info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char text[INET6_ADDRSTRLEN] = "";
  request->peer.fill(0);
  if (info == nullptr || info->client_addr == nullptr) return;
  if (info->client_addr->sa_family == AF_INET) {
    const auto *v4 = reinterpret_cast<const sockaddr_in *>(info->client_addr);
    request->peer[10] = request->peer[11] = 0xff;
    memcpy(request->peer.data() + 12, &v4->sin_addr, 4);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
  } else if (info->client_addr->sa_family == AF_INET6) {
    const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(info->client_addr);
    memcpy(request->peer.data(), &v6->sin6_addr, 16);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      inet_ntop(AF_INET, request->peer.data() + 12, text, sizeof text);
    } else {
      request->peer_v6 = true;
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    }
  }
  request->peer_text = text;
}

// Hands the answer to libmicrohttpd.
MHD_Result Queue(MHD_Connection *connection, const Answer &answer) {
  MHD_Response *response = MHD_create_response_from_buffer(
      answer.body.size(), const_cast<char *>(answer.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, answer.content_type.c_str());
  if (!answer.allow.empty())
    MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, answer.allow.c_str());
  if (!answer.request_id.empty())
    MHD_add_response_header(response, "X-Spawn-Request-Id", answer.request_id.c_str());
  const MHD_Result result = MHD_queue_response(connection, answer.status, response);
  MHD_destroy_response(response);
  return result;
}

// Serves a routed request with its complete body: true when its job was queued (the answer
// comes after its batch), false when *answer holds the answer now.
bool Serve(MHD_Connection *connection, const Route &route, Pending *pending, Answer *answer) {
  Request request;
  request.body = reinterpret_cast<const uint8_t *>(pending->body.data());
  request.size = pending->body.size();
  const char *key = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Idempotency-Key");
  if (key != nullptr) request.idempotency_key = key;
  const char *revision = MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "revision");
  if (revision != nullptr) request.revision = revision;
  ReadPeer(connection, &request);
  std::unique_ptr<Job> job;
  switch (route.endpoint) {
    case Endpoint::kRegister:
      job = PrepareRegister(request, answer);
      break;
    case Endpoint::kInvoke:
      job = PrepareInvoke(request, route, answer);
      break;
    case Endpoint::kSpawn:
      job = PrepareSpawn(request, route, answer);
      break;
    case Endpoint::kHealth:
    case Endpoint::kLiveness:
    case Endpoint::kReadiness:
      ServeHealth(route.endpoint, answer);
      break;
    case Endpoint::kMetrics:
      ServeMetrics(answer);
      break;
    case Endpoint::kNotFound:
    case Endpoint::kMethodNotAllowed:
    case Endpoint::kBadPath:
      break;
  }
  if (job == nullptr) return false;
  pending->ticket.job = std::move(job);
  BatchEnqueue(connection, &pending->ticket);
  return true;
}

// The answer of a request refused before its endpoint runs, or false when it may run.
bool Refusal(MHD_Connection *connection, const Route &route, const Pending *pending,
             Answer *answer) {
  const bool proto = route.endpoint == Endpoint::kRegister || route.endpoint == Endpoint::kInvoke ||
                     route.endpoint == Endpoint::kSpawn;
  if (route.endpoint == Endpoint::kNotFound) {
    JsonAnswer(MHD_HTTP_NOT_FOUND, "ERROR", "no such endpoint", answer);
  } else if (route.endpoint == Endpoint::kBadPath) {
    JsonAnswer(MHD_HTTP_BAD_REQUEST, "ERROR",
               "the path's system or actor name is not valid percent-encoded UTF-8", answer);
  } else if (route.endpoint == Endpoint::kMethodNotAllowed) {
    JsonAnswer(MHD_HTTP_METHOD_NOT_ALLOWED, "ERROR", "method not allowed; use " + route.allow,
               answer);
    answer->allow = route.allow;
  } else if (proto && !ProtobufContentType(MHD_lookup_connection_value(
                          connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE))) {
    ProtoError(route.endpoint, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
               "the body must be protobuf (Content-Type: application/octet-stream)", answer);
  } else if (pending != nullptr && pending->too_large) {
    ProtoError(route.endpoint, MHD_HTTP_CONTENT_TOO_LARGE,
               "the body is larger than spawn.http_max_body (" +
                   std::to_string(setting_http_max_body) + " bytes)",
               answer);
  } else {
    return false;
  }
  return true;
}

// A declared Content-Length over the limit.
bool DeclaredTooLarge(MHD_Connection *connection) {
  const char *length =
      MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  return length != nullptr &&
         strtoull(length, nullptr, 10) > static_cast<unsigned long long>(setting_http_max_body);
}

}  // namespace

// The access handler: first call (headers), body chunks, final call.
MHD_Result AccessHandler(void *, MHD_Connection *connection, const char *url, const char *method,
                         const char *, const char *upload_data, size_t *upload_data_size,
                         void **state) {
  try {
    const Route route = RouteRequest(method, url);
    auto *pending = static_cast<Pending *>(*state);
    if (pending == nullptr) {
      Answer answer;
      // Refused at once (unknown path, wrong method, declared too large): the body is not read.
      Pending declared;
      declared.too_large = DeclaredTooLarge(connection);
      if (Refusal(connection, route, &declared, &answer)) {
        StatsRecordRequest(route.endpoint, answer.status);
        return Queue(connection, answer);
      }
      *state = new Pending();
      return MHD_YES;
    }
    if (*upload_data_size > 0) {
      if (!pending->too_large &&
          pending->body.size() + *upload_data_size > static_cast<size_t>(setting_http_max_body))
        pending->too_large = true;
      if (pending->too_large)
        pending->body.clear();
      else
        pending->body.append(upload_data, *upload_data_size);
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (pending->ticket.answered) {  // resumed after its batch
      StatsRecordRequest(route.endpoint, pending->ticket.answer.status);
      return Queue(connection, pending->ticket.answer);
    }
    Answer answer;
    // No batch is running (MHD_run is not called during one): nothing lives in the context.
    MemoryContextReset(RequestContext());
    if (!Refusal(connection, route, pending, &answer) && Serve(connection, route, pending, &answer))
      return MHD_YES;  // suspended until its batch is over
    StatsRecordRequest(route.endpoint, answer.status);
    return Queue(connection, answer);
  } catch (...) {   // out of memory: no exception may reach libmicrohttpd's C frames
    return MHD_NO;  // closes the connection
  }
}

// Frees what the request collected once libmicrohttpd is done with it.
void RequestCompleted(void *, MHD_Connection *, void **state, MHD_RequestTerminationCode) {
  delete static_cast<Pending *>(*state);
  *state = nullptr;
}

}  // namespace spawn::gateway
