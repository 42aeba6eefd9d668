// Parsers and readers of outside bytes: JSON, SHA-256, safetensors.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "errors.hpp"
#include "models/json.hpp"
#include "models/safetensors.hpp"
#include "models/sha256.hpp"

namespace {

std::string sha(const std::string& s) { return enf::sha256_hex(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

// A small safetensors file: tensor "w" F32 [2, 3] = 0..5, optional sha256 in the metadata.
std::vector<uint8_t> tiny_file(bool with_digest, const std::string& header_override = "") {
  std::vector<uint8_t> data(24);
  for (int i = 0; i < 6; ++i) {
    const float v = static_cast<float>(i);
    std::memcpy(data.data() + 4 * i, &v, 4);
  }
  std::string header = R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";
  if (with_digest) header += R"(,"__metadata__":{"sha256":")" + enf::sha256_hex(data.data(), data.size()) + "\"}";
  header += "}";
  if (!header_override.empty()) header = header_override;
  std::vector<uint8_t> out(8);
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void expect_weights_error(std::vector<uint8_t> bytes, const std::string& word) {
  try {
    enf::SafeTensors::from_bytes(std::move(bytes));
    FAIL() << "expected WeightsError mentioning '" << word << "'";
  } catch (const enf::WeightsError& e) {
    EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Json, ParsesNestedDocumentsAndEscapes) {
  const auto v = enf::json::parse(R"( {"a": [1, -2.5e3, true, null], "b": {"c": "x\"\u00e9\ud83d\ude00\n"}} )");
  EXPECT_EQ(v.at("a").as_array().size(), 4u);
  EXPECT_DOUBLE_EQ(v.at("a").as_array()[1].as_number(), -2500.0);
  EXPECT_TRUE(v.at("a").as_array()[2].as_bool());
  EXPECT_TRUE(v.at("a").as_array()[3].is_null());
  EXPECT_EQ(v.at("b").at("c").as_string(), "x\"\xC3\xA9\xF0\x9F\x98\x80\n");
  EXPECT_TRUE(v.has("a"));
  EXPECT_FALSE(v.has("z"));
  EXPECT_THROW(v.at("z"), enf::InvalidInput);
  EXPECT_THROW(v.at("a").as_string(), enf::InvalidInput);
  const std::string s = "tab\there \"quoted\" \x01";
  EXPECT_EQ(enf::json::parse(enf::json::quote(s)).as_string(), s);
}

TEST(Json, RejectsMalformedInputWithItsOffset) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "\"unterminated", "\"bad \\q escape\"", "01", "1.", "-",
                          "[1] x", "\"\\ud800\"", "nul", "{\"a\":1,}", "\"ctl \x01\"", "1e999"}) {
    try {
      enf::json::parse(bad);
      FAIL() << "accepted: " << bad;
    } catch (const enf::InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find("at byte"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(enf::json::parse(std::string(100000, '[')), enf::InvalidInput);  // depth limit, no stack overflow
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(SafeTensors, ReadsTensorsAndChecksShapes) {
  const auto st = enf::SafeTensors::from_bytes(tiny_file(true));
  EXPECT_TRUE(st.has("w"));
  EXPECT_EQ(st.shape("w"), (std::vector<int64_t>{2, 3}));
  const auto w = st.floats("w", {2, 3});
  EXPECT_EQ(w[5], 5.0f);
  try {
    st.floats("w", {3, 2});
    FAIL();
  } catch (const enf::WeightsError& e) {
    EXPECT_NE(std::string(e.what()).find("has shape [2, 3], expected [3, 2]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(st.floats("missing", {1}), enf::WeightsError);
  EXPECT_THROW(st.ints("w"), enf::WeightsError);
}

TEST(SafeTensors, CorruptFilesAreRejectedWithTheReason) {
  auto f = tiny_file(true);
  expect_weights_error(std::vector<uint8_t>(f.begin(), f.begin() + 5), "truncated");
  expect_weights_error(std::vector<uint8_t>(f.begin(), f.end() - 4), "truncated");
  auto huge = f;
  huge[7] = 0x7f;
  expect_weights_error(huge, "header length");
  expect_weights_error(tiny_file(false, "{not json}"), "not valid JSON");
  expect_weights_error(tiny_file(false, R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})"), "needs 24");
  expect_weights_error(tiny_file(false, R"({"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,24]}})"), "dtype");
  expect_weights_error(tiny_file(false, R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}})"), "truncated");
  expect_weights_error(tiny_file(false, R"({"w":{"dtype":"F32","shape":[2,3]}})"), "data_offsets");
  auto flipped = f;
  flipped.back() ^= 0x40;
  expect_weights_error(flipped, "checksum mismatch");
}

TEST(SafeTensors, ConvertedCheckpointLoads) {
  if (!std::filesystem::exists(ENF_QM9_WEIGHTS)) GTEST_SKIP() << "QM9 weights absent (../shared missing); skipping";
  const auto st = enf::SafeTensors::load_file(ENF_QM9_WEIGHTS);
  EXPECT_EQ(st.shape("transformations.1.odefunc.dynamics.egnn.gcl_0.edge_mlp.0.weight"), (std::vector<int64_t>{64, 130}));
  EXPECT_EQ(st.shape("net_fn.egnn.gcl_0.edge_mlp.0.weight"), (std::vector<int64_t>{64, 129}));
  EXPECT_EQ(st.metadata().at("model"), "qm9");
  EXPECT_NE(st.metadata().at("license").find("MIT"), std::string::npos);
  EXPECT_EQ(st.metadata().at("sha256").size(), 64u);
}
