// Unit tests of name validation.
#include <gtest/gtest.h>

#include <string>

#include "src/core/names.hpp"

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

TEST(Names, RejectsBlankAndInvisibleNames) {
  EXPECT_STREQ(Problem(" "), "is blank");
  EXPECT_STREQ(Problem("   "), "is blank");
  EXPECT_STREQ(Problem("\xc2\xa0"), "is blank");      // no-break space
  EXPECT_STREQ(Problem("\xe3\x80\x80"), "is blank");  // ideographic space
  EXPECT_STREQ(Problem("pay\xe2\x80\x8b"
                       "ments"),
               "contains an invisible character");                            // U+200B
  EXPECT_STREQ(Problem("\xef\xbb\xbfx"), "contains an invisible character");  // U+FEFF
  EXPECT_STREQ(Problem("a\xe2\x80\xae"
                       "b"),
               "contains an invisible character");                    // U+202E
  EXPECT_STREQ(Problem("\xc2\x85"), "contains a control character");  // U+0085
  EXPECT_EQ(Problem(" padded "), nullptr);
  EXPECT_EQ(Problem("\xe2\x9c\x93"), nullptr);  // a check mark
}

TEST(Names, TruncatedSequencesAreReadByteByByte) {
  EXPECT_STREQ(Problem("\xe2\x80"), "contains a control character");  // 0x80 read alone
  EXPECT_EQ(Problem("\xf0"), nullptr);
}

}  // namespace
