#include "models/json.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "errors.hpp"

namespace enf::json {

namespace {
// JSON's two-character escapes: "\\" followed by kEscaped[k] stands for kUnescaped[k].
constexpr char kEscaped[] = "\"\\/bfnrt";
constexpr char kUnescaped[] = "\"\\/\b\f\n\r\t";
}  // namespace

Value Value::boolean(bool b) {
  Value v;
  v.type_ = Type::Bool;
  v.bool_ = b;
  return v;
}
Value Value::number(double d) {
  Value v;
  v.type_ = Type::Number;
  v.number_ = d;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.type_ = Type::String;
  v.string_ = std::move(s);
  return v;
}
Value Value::array(Array a) {
  Value v;
  v.type_ = Type::Array;
  v.array_ = std::make_shared<Array>(std::move(a));
  return v;
}
Value Value::object(Object o) {
  Value v;
  v.type_ = Type::Object;
  v.object_ = std::make_shared<Object>(std::move(o));
  return v;
}

namespace {
[[noreturn]] void type_error(const char* want) { throw InvalidInput(std::string("JSON value is not ") + want); }
}  // namespace

bool Value::as_bool() const {
  if (type_ != Type::Bool) type_error("a boolean");
  return bool_;
}
double Value::as_number() const {
  if (type_ != Type::Number) type_error("a number");
  return number_;
}
const std::string& Value::as_string() const {
  if (type_ != Type::String) type_error("a string");
  return string_;
}
const Value::Array& Value::as_array() const {
  if (type_ != Type::Array) type_error("an array");
  return *array_;
}
const Value::Object& Value::as_object() const {
  if (type_ != Type::Object) type_error("an object");
  return *object_;
}
bool Value::has(std::string_view key) const {
  if (type_ != Type::Object) return false;
  for (const auto& [k, v] : *object_)
    if (k == key) return true;
  return false;
}
const Value& Value::at(std::string_view key) const {
  for (const auto& [k, v] : as_object())
    if (k == key) return v;
  throw InvalidInput("JSON object has no key '" + std::string(key) + "'");
}

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Value::Type::Null: return true;
    case Value::Type::Bool: return a.bool_ == b.bool_;
    case Value::Type::Number: return a.number_ == b.number_;
    case Value::Type::String: return a.string_ == b.string_;
    case Value::Type::Array: return *a.array_ == *b.array_;
    case Value::Type::Object: return *a.object_ == *b.object_;
  }
  return false;
}

namespace {

// Length of the valid UTF-8 sequence starting at s[pos] (a byte >= 0x80), or 0 when it is
// malformed: a stray continuation byte, a truncated or overlong sequence, a surrogate, > U+10FFFF.
size_t utf8_sequence(std::string_view s, size_t pos) {
  const auto byte = [&](size_t k) { return pos + k < s.size() ? static_cast<unsigned char>(s[pos + k]) : 0u; };
  const unsigned b0 = byte(0);
  size_t n;
  unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
  else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  return n;
}

class Parser {
 public:
  Parser(std::string_view s, int max_depth) : s_(s), max_depth_(max_depth) {}

  Value document() {
    Value v = value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InvalidInput("malformed JSON at byte " + std::to_string(pos_) + ": " + what);
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Value value(int depth) {
    if (depth > max_depth_) fail("nesting deeper than " + std::to_string(max_depth_));
    skip_ws();
    if (pos_ >= s_.size()) fail("unexpected end of input");
    const char c = s_[pos_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') return Value::string(string());
    if (literal("true")) return Value::boolean(true);
    if (literal("false")) return Value::boolean(false);
    if (literal("null")) return Value();
    if (c == '-' || (c >= '0' && c <= '9')) return Value::number(number());
    fail(std::string("unexpected character '") + c + "'");
  }

  // The members of an object or the items of an array after its opening bracket: `item()` reads
  // one, separated by commas, up to `close`.
  template <class Item>
  void sequence(char close, Item item) {
    ++pos_;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == close) {
      ++pos_;
      return;
    }
    while (true) {
      item();
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == close) {
        ++pos_;
        return;
      }
      fail(std::string("expected ',' or '") + close + "'");
    }
  }

  Value object(int depth) {
    Value::Object members;
    sequence('}', [&] {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a string key");
      std::string key = string();
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') fail("expected ':'");
      ++pos_;
      members.emplace_back(std::move(key), value(depth + 1));
    });
    check_unique_keys(members);
    return Value::object(std::move(members));
  }

  // Duplicate keys would make at() ambiguous (and let a header name a tensor twice). Sorting
  // keeps hostile objects with many members at O(n log n).
  void check_unique_keys(const Value::Object& members) const {
    if (members.size() < 2) return;
    std::vector<std::string_view> keys;
    keys.reserve(members.size());
    for (const auto& m : members) keys.emplace_back(m.first);
    std::sort(keys.begin(), keys.end());
    const auto dup = std::adjacent_find(keys.begin(), keys.end());
    if (dup != keys.end()) fail("duplicate key '" + std::string(*dup) + "' in the object ending here");
  }

  Value array(int depth) {
    Value::Array items;
    sequence(']', [&] { items.push_back(value(depth + 1)); });
    return Value::array(std::move(items));
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else fail("bad hex digit in \\u escape");
    }
    return v;
  }

  static void append_utf8(std::string& out, unsigned cp) {
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

  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      // Copy the run of plain ASCII characters in one go: golden files are mostly such runs.
      const size_t run = pos_;
      while (pos_ < s_.size()) {
        const auto u = static_cast<unsigned char>(s_[pos_]);
        if (u == '"' || u == '\\' || u < 0x20 || u >= 0x80) break;
        ++pos_;
      }
      out.append(s_.data() + run, pos_ - run);
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string (escape it)");
      if (static_cast<unsigned char>(c) >= 0x80) {
        const size_t n = utf8_sequence(s_, pos_);
        if (n == 0) fail("invalid UTF-8 in string");
        out.append(s_.data() + pos_, n);
        pos_ += n;
        continue;
      }
      ++pos_;  // the backslash
      if (pos_ >= s_.size()) fail("unterminated escape");
      const char e = s_[pos_++];
      if (const char* d = std::strchr(kEscaped, e); d && e != '\0') {
        out += kUnescaped[d - kEscaped];
        continue;
      }
      switch (e) {
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!literal("\\u")) fail("unpaired surrogate");
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("unpaired surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default: fail(std::string("bad escape '\\") + e + "'");
      }
    }
  }

  double number() {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t d0 = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - d0;
    };
    if (s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      fail("expected digits");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) fail("expected digits after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) fail("expected exponent digits");
    }
    const std::string text(s_.substr(start, pos_ - start));
    const double v = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(v)) fail("number out of range");
    return v;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int max_depth_;
};

}  // namespace

Value parse(std::string_view text, int max_depth) { return Parser(text, max_depth).document(); }

namespace {

void dump_to(const Value& v, std::string& out) {
  switch (v.type()) {
    case Value::Type::Null: out += "null"; return;
    case Value::Type::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Value::Type::Number: {
      const double d = v.as_number();
      if (!std::isfinite(d)) throw InvalidInput("JSON cannot represent the number " + std::to_string(d));
      char buf[32];
      // Integers print as such (array indices, counts); others with 17 digits, which round-trips.
      if (d == std::floor(d) && std::abs(d) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", d);
      else std::snprintf(buf, sizeof buf, "%.17g", d);
      out += buf;
      return;
    }
    case Value::Type::String: out += quote(v.as_string()); return;
    case Value::Type::Array: {
      out += '[';
      bool first = true;
      for (const Value& x : v.as_array()) {
        if (!first) out += ',';
        first = false;
        dump_to(x, out);
      }
      out += ']';
      return;
    }
    case Value::Type::Object: {
      out += '{';
      bool first = true;
      for (const auto& [k, x] : v.as_object()) {
        if (!first) out += ',';
        first = false;
        out += quote(k);
        out += ':';
        dump_to(x, out);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string dump(const Value& v) {
  std::string out;
  dump_to(v, out);
  return out;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    // The two-character escapes (but '/', which needs none) where they exist, else \u00XX for
    // the other control characters.
    const char* u = c == '/' || c == '\0' ? nullptr : std::strchr(kUnescaped, c);
    if (u) {
      out += '\\';
      out += kEscaped[u - kUnescaped];
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[(c >> 4) & 0xF];
      out += hex[c & 0xF];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace enf::json
