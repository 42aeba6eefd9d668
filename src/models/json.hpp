// A small strict JSON reader and writer (RFC 8259) for safetensors headers, weight metadata and
// golden files. Errors are enf::InvalidInput with the byte offset; nesting is limited so hostile
// input cannot exhaust the stack; strings must be valid UTF-8 and keys unique.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enf::json {

class Value {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Array = std::vector<Value>;
  using Object = std::vector<std::pair<std::string, Value>>;  // keeps the document's order

  Value() = default;
  static Value boolean(bool b);
  static Value number(double d);
  static Value string(std::string s);
  static Value array(Array a);
  static Value object(Object o);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_object() const { return type_ == Type::Object; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }

  // Accessors throw InvalidInput naming the expected type or the missing key.
  bool as_bool() const;
  double as_number() const;
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;
  bool has(std::string_view key) const;  // false for non-objects
  const Value& at(std::string_view key) const;

  // Structural equality; objects compare member by member in document order.
  friend bool operator==(const Value& a, const Value& b);

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::shared_ptr<Array> array_;
  std::shared_ptr<Object> object_;
};

// Parses one JSON document (surrounding whitespace allowed, nothing else after it).
Value parse(std::string_view text, int max_depth = 64);

// Compact JSON text; numbers keep 17 significant digits, so parse(dump(v)) == v.
// Throws InvalidInput for a non-finite number, which JSON cannot represent.
std::string dump(const Value& v);

// JSON string literal for s (quotes included).
std::string quote(std::string_view s);

}  // namespace enf::json
