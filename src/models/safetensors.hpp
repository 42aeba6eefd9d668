// Reader for safetensors files: 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw little-endian data. Every field is checked;
// a corrupt, truncated or mismatched file raises WeightsError saying what is wrong.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace enf {

// A float32 tensor to write: row-major values and their shape.
struct TensorF32 {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// The safetensors bytes of `tensors` (in order) with `metadata` plus a "sha256" entry of the data
// section, which SafeTensors::from_bytes checks. Header padded to 8 bytes, little-endian data.
std::vector<uint8_t> write_safetensors(const std::vector<TensorF32>& tensors,
                                       const std::vector<std::pair<std::string, std::string>>& metadata);

class SafeTensors {
 public:
  struct Entry {
    std::string dtype;           // F32, F64, I32 or I64
    std::vector<int64_t> shape;
    size_t begin = 0, end = 0;   // byte range within the data section
  };

  // Throws WeightsError naming the problem. The tensors must tile the data section exactly (no
  // overlap, hole or trailing bytes, as in the reference implementation); a "sha256" metadata
  // entry is checked against the data section. verify_checksum = false skips that check, for
  // callers that verified the same bytes already (the browser checks once with WebCrypto
  // instead of once per worker).
  static SafeTensors from_bytes(std::vector<uint8_t> bytes, bool verify_checksum = true);
  static SafeTensors load_file(const std::string& path);

  bool has(const std::string& name) const { return entries_.count(name) > 0; }
  std::vector<std::string> names() const;
  std::vector<int64_t> shape(const std::string& name) const;
  // Values as float32 (F64 is narrowed); throws when the tensor is missing or its shape differs.
  std::vector<float> floats(const std::string& name, const std::vector<int64_t>& expected_shape) const;
  std::vector<int64_t> ints(const std::string& name) const;  // I32 / I64
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  const Entry& entry(const std::string& name) const;
  std::vector<uint8_t> bytes_;
  size_t data_offset_ = 0;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace enf
