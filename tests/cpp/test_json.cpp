// The JSON reader/writer: hand-checked documents, malformed input, round trips of random
// documents, and the golden files it exists to read.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "errors.hpp"
#include "models/json.hpp"

using enf::json::Value;

namespace {

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Strings mixing ASCII, control characters, quotes, backslashes and 2-, 3- and 4-byte UTF-8.
std::string random_string(std::mt19937& rng) {
  std::string s;
  const int n = std::uniform_int_distribution<int>(0, 12)(rng);
  for (int k = 0; k < n; ++k) {
    unsigned cp = 0;
    switch (std::uniform_int_distribution<int>(0, 5)(rng)) {
      case 0: cp = std::uniform_int_distribution<unsigned>(0x00, 0x1F)(rng); break;
      case 1: cp = rng() % 2 ? '"' : '\\'; break;
      case 2: cp = std::uniform_int_distribution<unsigned>(0x80, 0x7FF)(rng); break;
      case 3:
        cp = std::uniform_int_distribution<unsigned>(0x800, 0xFFFF)(rng);
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xE9;  // surrogates are not characters
        break;
      case 4: cp = std::uniform_int_distribution<unsigned>(0x10000, 0x10FFFF)(rng); break;
      default: cp = std::uniform_int_distribution<unsigned>(0x20, 0x7E)(rng);
    }
    append_utf8(s, cp);
  }
  return s;
}

double random_number(std::mt19937& rng) {
  switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
    case 0: return std::uniform_int_distribution<int>(-1000000, 1000000)(rng);
    case 1: return std::uniform_real_distribution<double>(-1, 1)(rng);
    case 2: return std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng), std::uniform_int_distribution<int>(-1070, 1020)(rng));
    default: return -0.0;
  }
}

Value random_value(std::mt19937& rng, int depth) {
  const int kind = std::uniform_int_distribution<int>(0, depth > 4 ? 3 : 5)(rng);
  switch (kind) {
    case 0: return Value();
    case 1: return Value::boolean(rng() % 2);
    case 2: return Value::number(random_number(rng));
    case 3: return Value::string(random_string(rng));
    case 4: {
      Value::Array a;
      const int n = std::uniform_int_distribution<int>(0, 5)(rng);
      for (int k = 0; k < n; ++k) a.push_back(random_value(rng, depth + 1));
      return Value::array(std::move(a));
    }
    default: {
      Value::Object o;
      const int n = std::uniform_int_distribution<int>(0, 5)(rng);
      for (int k = 0; k < n; ++k)
        o.emplace_back("k" + std::to_string(k) + random_string(rng), random_value(rng, depth + 1));
      return Value::object(std::move(o));
    }
  }
}

void expect_rejected(const std::string& text, const std::string& words = "") {
  try {
    enf::json::parse(text);
    ADD_FAILURE() << "accepted: " << text;
  } catch (const enf::InvalidInput& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("at byte"), std::string::npos) << what;
    EXPECT_NE(what.find(words), std::string::npos) << "input " << text << " -> " << what;
  }
}

}  // namespace

TEST(Json, ParsesNestedDocumentsAndEscapes) {
  const auto v = enf::json::parse(R"( {"a": [1, -2.5e3, true, null, 0.5E-1, -0], "b": {"c": "x\"\u00e9\ud83d\ude00\n\/"}} )");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.at("a").as_array().size(), 6u);
  EXPECT_DOUBLE_EQ(v.at("a").as_array()[1].as_number(), -2500.0);
  EXPECT_TRUE(v.at("a").as_array()[2].as_bool());
  EXPECT_TRUE(v.at("a").as_array()[3].is_null());
  EXPECT_DOUBLE_EQ(v.at("a").as_array()[4].as_number(), 0.05);
  EXPECT_EQ(v.at("b").at("c").as_string(), "x\"\xC3\xA9\xF0\x9F\x98\x80\n/");
  EXPECT_EQ(v.at("b").at("c").as_string(), "x\"é😀\n/");  // raw UTF-8 and escapes agree
  EXPECT_TRUE(v.has("a"));
  EXPECT_FALSE(v.has("z"));
  EXPECT_FALSE(v.at("a").has("a"));  // not an object
  EXPECT_EQ(enf::json::parse("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"").as_string(), "café € 😀");
}

TEST(Json, AccessorsNameWhatIsWrong) {
  const auto v = enf::json::parse(R"({"a": 1, "b": "s"})");
  try {
    v.at("missing_key");
    FAIL();
  } catch (const enf::InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("'missing_key'"), std::string::npos) << e.what();
  }
  try {
    v.at("b").as_number();
    FAIL();
  } catch (const enf::InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("not a number"), std::string::npos) << e.what();
  }
  EXPECT_THROW(v.at("a").as_string(), enf::InvalidInput);
  EXPECT_THROW(v.at("a").as_array(), enf::InvalidInput);
  EXPECT_THROW(v.at("a").as_bool(), enf::InvalidInput);
  EXPECT_THROW(v.as_array(), enf::InvalidInput);
  EXPECT_THROW(v.at("a").at("x"), enf::InvalidInput);
}

TEST(Json, RejectsMalformedInputWithItsOffset) {
  expect_rejected("", "end of input");
  expect_rejected("   ", "end of input");
  expect_rejected("{", "string key");
  expect_rejected("[1,]");
  expect_rejected("[1 2]", "expected ',' or ']'");
  expect_rejected("{\"a\" 1}", "':'");
  expect_rejected("{\"a\":1,}", "string key");
  expect_rejected("{'a':1}", "string key");
  expect_rejected("\"unterminated", "unterminated string");
  expect_rejected("[\"unterminated]", "unterminated string");
  expect_rejected("\"bad \\q escape\"", "bad escape");
  expect_rejected("\"\\u12G4\"", "hex digit");
  expect_rejected("\"\\u12", "truncated");
  expect_rejected("\"\\ud800\"", "unpaired surrogate");
  expect_rejected("\"\\ud800\\u0041\"", "unpaired surrogate");
  expect_rejected("\"\\udc00\"", "unpaired surrogate");
  expect_rejected("\"ctl \x01\"", "control character");
  expect_rejected("\"tab\tinside\"", "control character");
  expect_rejected("\"\xC3\"", "UTF-8");              // truncated sequence
  expect_rejected("\"\xC0\xAF\"", "UTF-8");          // overlong '/'
  expect_rejected("\"\xED\xA0\x80\"", "UTF-8");      // an encoded surrogate
  expect_rejected("\"\xF4\x90\x80\x80\"", "UTF-8");  // beyond U+10FFFF
  expect_rejected("\"\x80\"", "UTF-8");              // stray continuation byte
  expect_rejected("01", "after the JSON value");
  expect_rejected("1.", "digits after '.'");
  expect_rejected(".5", "unexpected character");
  expect_rejected("+1", "unexpected character");
  expect_rejected("-", "digits");
  expect_rejected("1e", "exponent");
  expect_rejected("1e999", "out of range");
  expect_rejected("NaN", "unexpected character");
  expect_rejected("Infinity", "unexpected character");
  expect_rejected("nul", "unexpected character");
  expect_rejected("[1] x", "after the JSON value");
  expect_rejected("{} {}", "after the JSON value");
  expect_rejected("{\"a\":1,\"b\":2,\"a\":3}", "duplicate key 'a'");
  expect_rejected("\xEF\xBB\xBF{}", "unexpected character");  // a byte-order mark is not JSON
}

TEST(Json, ErrorOffsetPointsAtTheProblem) {
  try {
    enf::json::parse("[1, 2, x]");
    FAIL();
  } catch (const enf::InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("at byte 7"), std::string::npos) << e.what();
  }
}

TEST(Json, NestingIsLimitedWithoutExhaustingTheStack) {
  const auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_NO_THROW(enf::json::parse(nested(65)));  // depths 0..64
  expect_rejected(nested(66), "nesting deeper than 64");
  expect_rejected(std::string(1000000, '['), "nesting");
  expect_rejected(std::string(1000000, '{'), "string key");  // rejected at the first key, depth or not
  EXPECT_NO_THROW(enf::json::parse(nested(10), 10));
  EXPECT_THROW(enf::json::parse(nested(12), 10), enf::InvalidInput);
}

TEST(Json, DumpThenParseGivesTheSameValue) {
  std::mt19937 rng(20240611);
  for (int trial = 0; trial < 500; ++trial) {
    const Value v = random_value(rng, 0);
    const std::string text = enf::json::dump(v);
    const Value back = enf::json::parse(text);
    ASSERT_TRUE(back == v) << text;
    ASSERT_EQ(enf::json::dump(back), text);
  }
  EXPECT_EQ(enf::json::dump(enf::json::parse(R"( { "a" : [ 1 , 2.5 , "x" ] , "b" : null } )")),
            R"({"a":[1,2.5,"x"],"b":null})");
  EXPECT_EQ(enf::json::dump(Value::number(0.1)), "0.10000000000000001");
  EXPECT_EQ(enf::json::dump(Value::number(-3)), "-3");
  EXPECT_EQ(enf::json::dump(Value::string("a\"b\\c\n\x01")), R"("a\"b\\c\n\u0001")");
  EXPECT_THROW(enf::json::dump(Value::number(std::nan(""))), enf::InvalidInput);
  EXPECT_THROW(enf::json::dump(Value::array({Value::number(INFINITY)})), enf::InvalidInput);
  EXPECT_FALSE(enf::json::parse("[1, 2]") == enf::json::parse("[2, 1]"));
  EXPECT_FALSE(enf::json::parse(R"({"a":1,"b":2})") == enf::json::parse(R"({"b":2,"a":1})"));  // order kept
}

TEST(Json, ReadsTheGoldenFiles) {
  const std::filesystem::path dir = ENF_GOLDEN_DIR;
  if (!std::filesystem::exists(dir / "dynamics_public.json"))
    GTEST_SKIP() << "golden files absent: " << dir << " (../shared beside the checkout) is missing";
  for (const char* name : {"dynamics_public.json", "flow_public.json", "reverse_public.json"}) {
    std::ifstream in(dir / name, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const Value doc = enf::json::parse(text.str());
    EXPECT_TRUE(doc.is_object()) << name;
    EXPECT_TRUE(enf::json::parse(enf::json::dump(doc)) == doc) << name;
  }
}
