// SHA-256 (FIPS 180-4), for checking weight files against the digest in their metadata.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace enf {

std::string sha256_hex(const uint8_t* data, size_t size);

}  // namespace enf
