// A JS value as the core's JSON value: how each call's options object crosses into the core,
// which reads and checks it once (src/api/options.cpp). Numbers stay doubles (NaN and infinities
// included, for the core to reject by name), typed arrays become arrays of numbers, undefined
// members are left out, functions and symbols are refused.
#pragma once
#include <emscripten/val.h>

#include <string>

#include "errors.hpp"
#include "models/json.hpp"

namespace enf::wasm {

inline json::Value to_json(const emscripten::val& v, const std::string& where = "the options", int depth = 0) {
  using emscripten::val;
  if (depth > 16) throw InvalidInput(where + " nests too deeply");
  if (v.isNull() || v.isUndefined()) return json::Value();
  const std::string type = v.typeOf().as<std::string>();
  if (type == "number") return json::Value::number(v.as<double>());
  if (type == "boolean") return json::Value::boolean(v.as<bool>());
  if (type == "string") return json::Value::string(v.as<std::string>());
  if (type != "object") throw InvalidInput(where + " is a " + type + ", which an option cannot be");
  const bool typed = val::global("ArrayBuffer").call<bool>("isView", v);
  if (typed || val::global("Array").call<bool>("isArray", v)) {
    const double n = v["length"].as<double>();
    if (!(n >= 0 && n <= 1e6)) throw InvalidInput(where + " holds too many items");
    json::Value::Array out;
    out.reserve(static_cast<size_t>(n));
    for (int i = 0; i < static_cast<int>(n); ++i) out.push_back(to_json(v[i], where + "[" + std::to_string(i) + "]", depth + 1));
    return json::Value::array(std::move(out));
  }
  const val keys = val::global("Object").call<val>("keys", v);
  const int n = keys["length"].as<int>();
  json::Value::Object out;
  for (int i = 0; i < n; ++i) {
    const std::string k = keys[i].as<std::string>();
    const val member = v[k];
    if (member.isUndefined()) continue;
    out.emplace_back(k, to_json(member, k, depth + 1));
  }
  return json::Value::object(std::move(out));
}

}  // namespace enf::wasm
