// Unit tests of the gateway's routing and its address allow-list and port-override parsers.
#include <gtest/gtest.h>

#include "src/core/address_list.hpp"
#include "src/core/gateway_route.hpp"

namespace {

using spawn::gateway::Endpoint;
using spawn::gateway::RouteRequest;

TEST(GatewayRoute, RoutesTheProtocolsPaths) {
  EXPECT_EQ(RouteRequest("POST", "/api/v1/system").endpoint, Endpoint::kRegister);
  const auto invoke = RouteRequest("POST", "/api/v1/system/spawn-system/actors/incrementor/invoke");
  EXPECT_EQ(invoke.endpoint, Endpoint::kInvoke);
  EXPECT_EQ(invoke.system, "spawn-system");
  EXPECT_EQ(invoke.actor, "incrementor");
  const auto spawn = RouteRequest("POST", "/api/v1/system/my%20sys/actors/spawn");
  EXPECT_EQ(spawn.endpoint, Endpoint::kSpawn);
  EXPECT_EQ(spawn.system, "my sys");
  EXPECT_EQ(RouteRequest("GET", "/health").endpoint, Endpoint::kHealth);
  EXPECT_EQ(RouteRequest("GET", "/health/liveness").endpoint, Endpoint::kLiveness);
  EXPECT_EQ(RouteRequest("GET", "/health/readiness/").endpoint, Endpoint::kReadiness);
  EXPECT_EQ(RouteRequest("GET", "/metrics").endpoint, Endpoint::kMetrics);
}

TEST(GatewayRoute, WrongMethodsAndUnknownPaths) {
  const auto wrong = RouteRequest("GET", "/api/v1/system");
  EXPECT_EQ(wrong.endpoint, Endpoint::kMethodNotAllowed);
  EXPECT_EQ(wrong.allow, "POST");
  EXPECT_EQ(RouteRequest("DELETE", "/health").allow, "GET");
  EXPECT_EQ(RouteRequest("HEAD", "/metrics").endpoint, Endpoint::kMethodNotAllowed);
  EXPECT_EQ(RouteRequest("GET", "/").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(RouteRequest("POST", "/api/v1/system/s/actors/a/other").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(RouteRequest("POST", "/api/v2/system").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(RouteRequest("POST", "relative").endpoint, Endpoint::kNotFound);
}

TEST(GatewayRoute, RefusesBadEscapes) {
  EXPECT_EQ(RouteRequest("POST", "/api/v1/system/s%2/actors/spawn").endpoint, Endpoint::kBadPath);
  EXPECT_EQ(RouteRequest("POST", "/api/v1/system/s/actors/a%00/invoke").endpoint,
            Endpoint::kBadPath);
  EXPECT_EQ(RouteRequest("POST", "/api/v1/system/%FF/actors/spawn").endpoint, Endpoint::kBadPath);
  EXPECT_EQ(RouteRequest("POST", "/api/v1/system/caf%C3%A9/actors/spawn").system, "caf\xc3\xa9");
}

TEST(AddressList, MatchesHostsAndRanges) {
  std::vector<spawn::gateway::Network> networks;
  std::string error;
  ASSERT_TRUE(spawn::gateway::ParseAddressList("127.0.0.1/32, ::1, 10.0.0.0/8", &networks, &error));
  std::array<uint8_t, 16> address;
  ASSERT_TRUE(spawn::gateway::ParseAddress("127.0.0.1", &address));
  EXPECT_TRUE(spawn::gateway::AddressAllowed(networks, address));
  ASSERT_TRUE(spawn::gateway::ParseAddress("10.200.1.2", &address));
  EXPECT_TRUE(spawn::gateway::AddressAllowed(networks, address));
  ASSERT_TRUE(spawn::gateway::ParseAddress("::ffff:10.1.1.1", &address));
  EXPECT_TRUE(spawn::gateway::AddressAllowed(networks, address));
  ASSERT_TRUE(spawn::gateway::ParseAddress("127.0.0.2", &address));
  EXPECT_FALSE(spawn::gateway::AddressAllowed(networks, address));
  ASSERT_TRUE(spawn::gateway::ParseAddress("::2", &address));
  EXPECT_FALSE(spawn::gateway::AddressAllowed(networks, address));
  ASSERT_TRUE(spawn::gateway::ParseAddressList("", &networks, &error));
  EXPECT_FALSE(spawn::gateway::AddressAllowed(networks, address));
}

TEST(AddressList, RefusesBadEntries) {
  std::vector<spawn::gateway::Network> networks;
  std::string error;
  EXPECT_FALSE(spawn::gateway::ParseAddressList("localhost", &networks, &error));
  EXPECT_NE(error.find("localhost"), std::string::npos);
  EXPECT_FALSE(spawn::gateway::ParseAddressList("10.0.0.0/33", &networks, &error));
  EXPECT_FALSE(spawn::gateway::ParseAddressList("::1/129", &networks, &error));
  EXPECT_FALSE(spawn::gateway::ParseAddressList("10.0.0.0/", &networks, &error));
}

TEST(PortOverrides, ParsesAndRefuses) {
  std::map<std::string, int> ports;
  std::string error;
  ASSERT_TRUE(spawn::gateway::ParsePortOverrides("orders=8091, billing = 8092", &ports, &error));
  EXPECT_EQ(ports["orders"], 8091);
  EXPECT_EQ(ports["billing"], 8092);
  EXPECT_FALSE(spawn::gateway::ParsePortOverrides("orders=0", &ports, &error));
  EXPECT_FALSE(spawn::gateway::ParsePortOverrides("orders=70000", &ports, &error));
  EXPECT_FALSE(spawn::gateway::ParsePortOverrides("=8091", &ports, &error));
  EXPECT_FALSE(spawn::gateway::ParsePortOverrides("a=1, a=2", &ports, &error));
}

}  // namespace
