#include "models/safetensors.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "errors.hpp"
#include "models/json.hpp"
#include "models/sha256.hpp"

namespace enf {

namespace {

constexpr uint64_t kMaxHeader = 100u << 20;

size_t dtype_size(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F64" || dtype == "I64") return 8;
  return 0;
}

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

template <class T>
T read_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // the wasm and x86-64 targets are little-endian
  return v;
}

}  // namespace

SafeTensors SafeTensors::from_bytes(std::vector<uint8_t> bytes, bool verify_checksum) {
  SafeTensors st;
  if (bytes.size() < 8) throw WeightsError("weights file truncated: " + std::to_string(bytes.size()) + " bytes, not even a header");
  const uint64_t header_len = read_le<uint64_t>(bytes.data());
  if (header_len > kMaxHeader)
    throw WeightsError("weights file corrupt: header length " + std::to_string(header_len) +
                       " bytes is beyond the 100 MB limit; this is not a safetensors file");
  if (header_len > bytes.size() - 8)
    throw WeightsError("weights file corrupt or truncated: header length " + std::to_string(header_len) +
                       " exceeds the file size " + std::to_string(bytes.size()));
  json::Value header;
  try {
    header = json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()) + 8, header_len));
  } catch (const InvalidInput& e) {
    throw WeightsError(std::string("weights file header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw WeightsError("weights file header is not a JSON object");
  st.data_offset_ = 8 + header_len;
  const size_t data_size = bytes.size() - st.data_offset_;
  std::vector<std::pair<size_t, size_t>> ranges;
  try {
    for (const auto& [name, v] : header.as_object()) {
      if (name == "__metadata__") {
        for (const auto& [k, m] : v.as_object()) st.metadata_[k] = m.as_string();
        continue;
      }
      Entry e;
      e.dtype = v.at("dtype").as_string();
      const size_t width = dtype_size(e.dtype);
      if (!width) throw WeightsError("tensor '" + name + "' has unsupported dtype " + e.dtype);
      // 64-bit arithmetic: size_t is 32 bits on wasm32, where count * width could wrap.
      uint64_t count = 1;
      for (const auto& d : v.at("shape").as_array()) {
        const double x = d.as_number();
        if (!(x >= 0 && x <= 1e9) || x != std::floor(x))
          throw WeightsError("tensor '" + name + "' has an invalid shape");
        e.shape.push_back(static_cast<int64_t>(x));
        count *= static_cast<uint64_t>(x);
        if (count > (1ull << 31)) throw WeightsError("tensor '" + name + "' is implausibly large");
      }
      const auto& off = v.at("data_offsets").as_array();
      if (off.size() != 2) throw WeightsError("tensor '" + name + "' needs two data_offsets");
      const double b = off[0].as_number(), en = off[1].as_number();
      // Integers within 2^53 convert exactly; anything else cannot be a byte offset.
      if (!(b >= 0 && en >= b && en <= 9e15) || b != std::floor(b) || en != std::floor(en))
        throw WeightsError("tensor '" + name + "' has invalid data_offsets");
      if (en > static_cast<double>(data_size))
        throw WeightsError("weights file truncated: tensor '" + name + "' needs bytes [" + std::to_string(uint64_t(b)) +
                           ", " + std::to_string(uint64_t(en)) + ") but the data section has " +
                           std::to_string(data_size) + " bytes");
      e.begin = static_cast<size_t>(b);
      e.end = static_cast<size_t>(en);
      if (static_cast<uint64_t>(e.end - e.begin) != count * width)
        throw WeightsError("tensor '" + name + "' has " + std::to_string(e.end - e.begin) + " bytes but shape " +
                           shape_text(e.shape) + " of " + e.dtype + " needs " + std::to_string(count * width));
      ranges.emplace_back(e.begin, e.end);
      st.entries_[name] = std::move(e);
    }
  } catch (const InvalidInput& e) {
    throw WeightsError(std::string("weights file header is malformed: ") + e.what());
  }
  // As in the reference safetensors implementation, the tensors must tile the data section
  // exactly: an overlap, a hole or bytes after the last tensor all mean a damaged file.
  std::sort(ranges.begin(), ranges.end());
  size_t covered = 0;
  for (const auto& [b, en] : ranges) {
    if (b < covered) throw WeightsError("weights file corrupt: tensor data ranges overlap");
    if (b > covered)
      throw WeightsError("weights file corrupt: data section has a hole at bytes [" + std::to_string(covered) + ", " +
                         std::to_string(b) + ") that no tensor uses");
    covered = en;
  }
  if (covered != data_size)
    throw WeightsError("weights file corrupt: data section size mismatch: the header accounts for " +
                       std::to_string(covered) + " bytes but the data section has " + std::to_string(data_size));
  st.bytes_ = std::move(bytes);
  auto digest = st.metadata_.find("sha256");
  if (verify_checksum && digest != st.metadata_.end()) {
    const std::string actual = sha256_hex(st.bytes_.data() + st.data_offset_, data_size);
    if (actual != digest->second)
      throw WeightsError("weights file checksum mismatch (sha256 " + actual.substr(0, 12) + "… expected " +
                         digest->second.substr(0, 12) + "…): the file is corrupt; download or convert it again");
  }
  return st;
}

SafeTensors SafeTensors::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw WeightsError("cannot open weights file '" + path + "'");
  const std::streamoff size = in.tellg();
  if (size < 0) throw WeightsError("cannot read weights file '" + path + "'");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) throw WeightsError("cannot read weights file '" + path + "'");
  return from_bytes(std::move(bytes));
}

std::vector<std::string> SafeTensors::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries_) out.push_back(k);
  return out;
}

const SafeTensors::Entry& SafeTensors::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw WeightsError("weights file is missing tensor '" + name + "': wrong or incomplete model file");
  return it->second;
}

std::vector<int64_t> SafeTensors::shape(const std::string& name) const { return entry(name).shape; }

std::vector<float> SafeTensors::floats(const std::string& name, const std::vector<int64_t>& expected) const {
  const Entry& e = entry(name);
  if (e.shape != expected)
    throw WeightsError("tensor '" + name + "' has shape " + shape_text(e.shape) + ", expected " + shape_text(expected));
  const uint8_t* p = bytes_.data() + data_offset_ + e.begin;
  const size_t n = (e.end - e.begin) / dtype_size(e.dtype);
  std::vector<float> out(n);
  if (e.dtype == "F32") {
    if (n) std::memcpy(out.data(), p, 4 * n);  // the data section need not be 4-byte aligned
  } else if (e.dtype == "F64") {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(read_le<double>(p + 8 * i));
  } else {
    throw WeightsError("tensor '" + name + "' is " + e.dtype + ", expected floating point (F32 or F64)");
  }
  return out;
}

std::vector<int64_t> SafeTensors::ints(const std::string& name) const {
  const Entry& e = entry(name);
  const uint8_t* p = bytes_.data() + data_offset_ + e.begin;
  const size_t n = (e.end - e.begin) / dtype_size(e.dtype);
  std::vector<int64_t> out(n);
  if (e.dtype == "I32") {
    for (size_t i = 0; i < n; ++i) out[i] = read_le<int32_t>(p + 4 * i);
  } else if (e.dtype == "I64") {
    if (n) std::memcpy(out.data(), p, 8 * n);
  } else {
    throw WeightsError("tensor '" + name + "' is " + e.dtype + ", expected integers (I32 or I64)");
  }
  return out;
}

std::vector<uint8_t> write_safetensors(const std::vector<TensorF32>& tensors,
                                       const std::vector<std::pair<std::string, std::string>>& metadata) {
  json::Value::Object header;
  std::vector<uint8_t> data;
  for (const TensorF32& t : tensors) {
    const size_t begin = data.size();
    data.resize(begin + 4 * t.values.size());
    if (!t.values.empty()) std::memcpy(data.data() + begin, t.values.data(), 4 * t.values.size());  // little-endian targets
    json::Value::Array shape;
    for (int64_t d : t.shape) shape.push_back(json::Value::number(static_cast<double>(d)));
    header.emplace_back(t.name, json::Value::object(json::Value::Object{
        {"dtype", json::Value::string("F32")},
        {"shape", json::Value::array(shape)},
        {"data_offsets", json::Value::array({json::Value::number(static_cast<double>(begin)),
                                             json::Value::number(static_cast<double>(data.size()))})}}));
  }
  json::Value::Object meta;
  for (const auto& [k, v] : metadata)
    if (k != "sha256") meta.emplace_back(k, json::Value::string(v));
  meta.emplace_back("sha256", json::Value::string(sha256_hex(data.data(), data.size())));
  header.insert(header.begin(), {"__metadata__", json::Value::object(meta)});
  std::string text = json::dump(json::Value::object(header));
  while (text.size() % 8) text += ' ';  // the format pads the header to 8 bytes
  std::vector<uint8_t> out(8 + text.size() + data.size());
  const uint64_t len = text.size();
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + text.size(), data.data(), data.size());
  return out;
}

}  // namespace enf
