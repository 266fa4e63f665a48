// libFuzzer target of the gateway's request routing (method and path from the network) and its
// address allow-list and port-override parsers (settings, peer addresses).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "src/core/address_list.hpp"
#include "src/core/gateway_route.hpp"
#include "src/core/json_text.hpp"

// One input: "METHOD path" routed, and the same bytes parsed as an allow-list and port list;
// decoded path names must be UTF-8 without NUL, and a parsed list must match an address.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string input(reinterpret_cast<const char *>(data), size);
  const size_t space = input.find(' ');
  const std::string method = space == std::string::npos ? "GET" : input.substr(0, space);
  const std::string path = space == std::string::npos ? input : input.substr(space + 1);
  const spawn::gateway::Route route = spawn::gateway::RouteRequest(method, path);
  for (const std::string *name : {&route.system, &route.actor})
    if (!spawn::wire::IsUtf8(*name) || name->find('\0') != std::string::npos) std::abort();
  if (route.endpoint == spawn::gateway::Endpoint::kMethodNotAllowed && route.allow.empty())
    std::abort();
  std::vector<spawn::gateway::Network> networks;
  std::map<std::string, int> ports;
  std::string error;
  if (spawn::gateway::ParseAddressList(input, &networks, &error)) {
    std::array<uint8_t, 16> any{};
    (void)spawn::gateway::AddressAllowed(networks, any);
  }
  if (spawn::gateway::ParsePortOverrides(input, &ports, &error))
    for (const auto &entry : ports)
      if (entry.second < 1 || entry.second > 65535) std::abort();
  return 0;
}
