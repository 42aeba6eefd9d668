// Reading a field kind's settings (a JSON object from the user or a weights file): unknown keys and
// out-of-range values are refused with a message naming the kind and the setting.
#pragma once
#include <cmath>
#include <initializer_list>
#include <string>

#include "errors.hpp"
#include "models/json.hpp"

namespace enf::fields {

class Settings {
 public:
  // null means "all defaults".
  Settings(const json::Value& s, std::string kind, std::initializer_list<const char*> keys) : s_(s), kind_(std::move(kind)) {
    if (s.is_null()) return;
    if (!s.is_object()) throw InvalidInput("the " + kind_ + "'s settings must be a JSON object");
    std::string known;
    for (const char* k : keys) known += (known.empty() ? "" : ", ") + std::string(k);
    for (const auto& [key, v] : s.as_object()) {
      (void)v;
      bool ok = false;
      for (const char* k : keys) ok = ok || key == k;
      if (!ok) throw InvalidInput("unknown " + kind_ + " setting '" + key + "': use " + known);
    }
  }
  bool has(const char* key) const { return s_.is_object() && s_.has(key); }
  int integer(const char* key, int fallback, int lo, int hi) const {
    if (!has(key)) return fallback;
    const double v = s_.at(key).as_number();
    if (!(v >= lo && v <= hi) || v != std::floor(v))
      throw InvalidInput("the " + kind_ + "'s " + key + " must be an integer in [" + std::to_string(lo) + ", " +
                         std::to_string(hi) + "]");
    return static_cast<int>(v);
  }
  double number(const char* key, double fallback) const { return has(key) ? s_.at(key).as_number() : fallback; }
  bool boolean(const char* key, bool fallback) const { return has(key) ? s_.at(key).as_bool() : fallback; }
  std::string text(const char* key, const std::string& fallback) const {
    return has(key) ? s_.at(key).as_string() : fallback;
  }

 private:
  const json::Value& s_;
  std::string kind_;
};

}  // namespace enf::fields
