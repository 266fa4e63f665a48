// Unit tests of key list parsing.
#include <gtest/gtest.h>

#include <string>

#include "src/core/errors.hpp"
#include "src/core/key_list.hpp"

namespace {

const std::string kKeyA = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";  // 32 bytes
const std::string kKeyB = "YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODk=";

// The detail of the error a text raises, or "accepted".
std::string DetailOf(const std::string &text) {
  try {
    spawn::ParseKeyList(text);
    return "accepted";
  } catch (const spawn::SpawnError &e) {
    EXPECT_STREQ(e.sqlstate(), "22023");
    return e.detail();
  }
}

TEST(KeyList, ActiveKeyFirstThenOlderOnes) {
  auto keys = spawn::ParseKeyList("# rotated 2026-12\n" + kKeyB + "\r\n\n  " + kKeyA + "  \n");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0][0], 'a');
  EXPECT_EQ(keys[1][0], '0');
}

TEST(KeyList, RejectsBadListsWithoutEchoingThem) {
  EXPECT_EQ(DetailOf(""), "No key is listed.");
  EXPECT_EQ(DetailOf("# only a comment\n\n"), "No key is listed.");
  EXPECT_EQ(DetailOf(kKeyA + "\nc2hvcnQ=\n"), "Line 2 is not 32 bytes of base64.");
  EXPECT_EQ(DetailOf(kKeyA + "\n" + kKeyA), "Line 2 repeats an earlier key.");
  std::string many;
  for (char c = 'A'; c < 'A' + 9; ++c) many += std::string(1, c) + kKeyA.substr(1) + "\n";
  EXPECT_EQ(DetailOf(many), "More than 8 keys are listed.");
}

}  // namespace
