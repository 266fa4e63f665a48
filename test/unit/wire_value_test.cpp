// Unit tests of how wire values look to SQL: typed values as {"@type", "value"} and back.
#include <gtest/gtest.h>

#include "src/core/codec.hpp"
#include "src/core/json_text.hpp"

namespace spawn::wire {
namespace {

TEST(WireValue, TypedValueJsonIsTypeAndBase64) {
  Value typed{Value::Kind::kTyped, "", "type.googleapis.com/test.Counter",
              std::string("\x08\x2a", 2)};
  EXPECT_EQ(TypedValueJson(typed),
            R"({"@type": "type.googleapis.com/test.Counter", "value": "CCo="})");
  EXPECT_EQ(ValueJson(typed), TypedValueJson(typed));
  EXPECT_EQ(ValueJson(Value{}), "null");
}

TEST(WireValue, TypedObjectComesBackTyped) {
  Value value;
  std::string error;
  ASSERT_TRUE(ValueFromJson(R"({"value": "CCo=", "@type": "type.googleapis.com/test.Counter"})",
                            &value, &error));
  EXPECT_EQ(value.kind, Value::Kind::kTyped);
  EXPECT_EQ(value.type_url, "type.googleapis.com/test.Counter");
  EXPECT_EQ(value.bytes, std::string("\x08\x2a", 2));
}

// The key spelled with an escape is still "@type": a value with a backslash is fully parsed.
TEST(WireValue, EscapedTypeKeyComesBackTyped) {
  Value value;
  std::string error;
  ASSERT_TRUE(ValueFromJson(
      R"({"\u0040type": "type.googleapis.com/test.Counter", "value": "CCo="})", &value, &error));
  EXPECT_EQ(value.kind, Value::Kind::kTyped);
  EXPECT_EQ(value.type_url, "type.googleapis.com/test.Counter");
}

TEST(WireValue, OtherJsonStaysVerbatim) {
  std::string error;
  for (const char *text :
       {R"({"total": 12345678901234567890})", "[1, 2]", "\"s\"", "null",
        R"({"@type": "t", "value": "not base64!"})", R"({"@type": "t", "value": "CCo=", "x": 1})",
        R"({"@type": 1, "value": "CCo="})", R"({"@type": "", "value": "CCo="})"}) {
    Value value;
    ASSERT_TRUE(ValueFromJson(text, &value, &error)) << text;
    EXPECT_EQ(value.kind, Value::Kind::kJson) << text;
    EXPECT_EQ(value.json, text);
  }
}

TEST(WireValue, InvalidJsonIsAnError) {
  Value value;
  std::string error;
  EXPECT_FALSE(ValueFromJson("{\"a\":", &value, &error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(ValueFromJson("{\"@a\":", &value, &error));
  EXPECT_FALSE(ValueFromJson("[1, 2", &value, &error));
  EXPECT_FALSE(ValueFromJson("", &value, &error));
}

TEST(JsonText, QuotesAndChecksUtf8) {
  std::string out;
  ASSERT_TRUE(AppendJsonString("a\"b\\c\n\x01 é", &out));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001 é\"");
  for (const char *bad : {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    std::string ignored;
    EXPECT_FALSE(AppendJsonString(bad, &ignored));
    EXPECT_FALSE(IsUtf8(bad));
  }
  EXPECT_TRUE(IsUtf8("\xf0\x9f\x98\x80"));
}

}  // namespace
}  // namespace spawn::wire
