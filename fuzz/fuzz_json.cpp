// The JSON reader (safetensors headers, weights metadata, golden files). Properties: malformed
// text raises InvalidInput and nothing else; a parsed value dumps to text that parses back to an
// equal value; quote() of any parsed string is a JSON string that reads back as itself.
#include <string>
#include <string_view>

#include "common.hpp"
#include "errors.hpp"
#include "models/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  enf::json::Value v;
  try {
    v = enf::json::parse(text);
  } catch (const enf::InvalidInput&) {
    return 0;
  }
  const std::string dumped = enf::json::dump(v);  // parsed numbers are finite, so this cannot throw
  const enf::json::Value again = enf::json::parse(dumped);
  FUZZ_CHECK(again == v);
  FUZZ_CHECK(enf::json::dump(again) == dumped);
  if (v.is_object())
    for (const auto& [key, value] : v.as_object()) {
      FUZZ_CHECK(v.has(key));
      FUZZ_CHECK(enf::json::parse(enf::json::quote(key)).as_string() == key);
    }
  return 0;
}
