// Answers of the HTTP gateway that do not depend on the endpoint's work: JSON status documents
// and each protobuf endpoint's reply message carrying an error (C++ zone).
#include "bgworker/gateway.hpp"
#include "src/core/codec.hpp"
#include "src/core/json_text.hpp"

namespace spawn::gateway {

// {"status": state, "message": message} (message omitted when empty).
void JsonAnswer(unsigned int status, const char *state, const std::string &message,
                Answer *answer) {
  std::string body = "{\"status\": ";
  wire::AppendJsonString(state, &body);
  if (!message.empty()) {
    body += ", \"message\": ";
    if (!wire::AppendJsonString(message, &body)) body += "\"(not UTF-8)\"";
  }
  body += "}\n";
  answer->status = status;
  answer->body = body;
  answer->content_type = "application/json";
}

// The message, then its detail in parentheses.
std::string ErrorText(const TxError &error) {
  std::string text = error.message != nullptr ? error.message : "unknown error";
  if (error.detail != nullptr && error.detail[0] != '\0')
    text += " (" + std::string(error.detail) + ")";
  return text;
}

// An error in the endpoint's reply message.
void ProtoError(Endpoint endpoint, unsigned int status, const std::string &message,
                Answer *answer) {
  std::string error;
  bool ok = false;
  answer->body.clear();
  switch (endpoint) {
    case Endpoint::kRegister:
      ok = wire::EncodeRegistrationResponse(wire::Status::kError, message, "spawn-postgres", "1.0",
                                            wire::Spelling::kV1, &answer->body, &error);
      break;
    case Endpoint::kInvoke:
      ok =
          wire::EncodeInvocationResponse(wire::Status::kError, message, "", wire::ActorRef{},
                                         wire::Value{}, wire::Spelling::kV1, &answer->body, &error);
      break;
    case Endpoint::kSpawn:
      ok = wire::EncodeSpawnResponse(wire::Status::kError, message, &answer->body, &error);
      break;
    default:
      JsonAnswer(status, "ERROR", message, answer);
      return;
  }
  if (!ok) {  // only a message that is not UTF-8; say so without it
    JsonAnswer(status, "ERROR", "the error message could not be encoded: " + error, answer);
    return;
  }
  answer->status = status;
  answer->content_type = "application/octet-stream";
}

}  // namespace spawn::gateway
