// Unit tests of name validation.
#include <gtest/gtest.h>

#include <string>

#include "names.hpp"

namespace {

// Checks a std::string with NameProblem.
const char *Problem(const std::string &name) {
  return spawn::NameProblem(name.data(), name.size());
}

TEST(Names, AcceptsOrdinaryNames) {
  EXPECT_EQ(Problem("incrementor"), nullptr);
  EXPECT_EQ(Problem("spawn-system"), nullptr);
  EXPECT_EQ(Problem("c.42 with spaces"), nullptr);
  EXPECT_EQ(Problem("caf\xc3\xa9"), nullptr);
  EXPECT_EQ(Problem(std::string(63, 'a')), nullptr);
}

TEST(Names, RejectsEmptyLongAndControlCharacters) {
  EXPECT_STREQ(Problem(""), "is empty");
  EXPECT_STREQ(Problem(std::string(64, 'a')), "is longer than 63 bytes");
  EXPECT_STREQ(Problem("a\tb"), "contains a control character");
  EXPECT_STREQ(Problem(std::string("a\0b", 3)), "contains a control character");
  EXPECT_STREQ(Problem("del\x7f"), "contains a control character");
}

}  // namespace
