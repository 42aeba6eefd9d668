// SHA-256 and the safetensors reader: known vectors, a small hand-built file, every kind of
// corruption the reader must name, and the converted QM9 checkpoint.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "errors.hpp"
#include "models/safetensors.hpp"
#include "models/sha256.hpp"

namespace {

std::string sha(const std::string& s) { return enf::sha256_hex(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

// Buffers are sized up front and filled with memcpy: growing them element by element trips
// GCC 12's -Wstringop-overflow false positives at -O3.
template <class T>
void put(std::vector<uint8_t>& data, size_t at, T v) {
  std::memcpy(data.data() + at, &v, sizeof v);
}

// A safetensors file from a header and a data section; the header length is the real one
// unless `claimed_header_length` says otherwise.
std::vector<uint8_t> make_file(const std::string& header, const std::vector<uint8_t>& data,
                               uint64_t claimed_header_length = 0) {
  std::vector<uint8_t> out(8 + header.size() + data.size());
  put<uint64_t>(out, 0, claimed_header_length ? claimed_header_length : header.size());
  std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

// Tensor "w" F32 [2, 3] = 0..5 (24 bytes).
std::vector<uint8_t> w_data() {
  std::vector<uint8_t> d(24);
  for (int i = 0; i < 6; ++i) put<float>(d, 4 * i, static_cast<float>(i));
  return d;
}
const std::string kW = R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";

std::vector<uint8_t> tiny_file(bool with_digest) {
  const auto data = w_data();
  std::string header = "{" + kW;
  if (with_digest) header += R"(,"__metadata__":{"sha256":")" + enf::sha256_hex(data.data(), data.size()) + "\"}";
  return make_file(header + "}", data);
}

void expect_weights_error(std::vector<uint8_t> bytes, const std::string& words) {
  try {
    enf::SafeTensors::from_bytes(std::move(bytes));
    ADD_FAILURE() << "expected WeightsError mentioning '" << words << "'";
  } catch (const enf::WeightsError& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundaries) {
  // Lengths around the 55/56/64-byte points where the length field spills into a second block
  // (expected values from Python's hashlib).
  const std::pair<size_t, const char*> cases[] = {
      {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
      {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
      {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
      {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
      {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
      {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
      {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
  };
  for (const auto& [n, want] : cases) EXPECT_EQ(sha(std::string(n, 'a')), want) << n << " bytes";
  std::string all_bytes;
  for (int r = 0; r < 4; ++r)
    for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  EXPECT_EQ(sha(all_bytes), "785b0751fc2c53dc14a4ce3d800e69ef9ce1009eb327ccf458afe09c242c26c9");
}

TEST(SafeTensors, ReadsTensorsAndChecksShapes) {
  const auto st = enf::SafeTensors::from_bytes(tiny_file(true));
  EXPECT_TRUE(st.has("w"));
  EXPECT_FALSE(st.has("v"));
  EXPECT_EQ(st.names(), std::vector<std::string>{"w"});
  EXPECT_EQ(st.shape("w"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(st.floats("w", {2, 3}), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(st.metadata().size(), 1u);
  try {
    st.floats("w", {3, 2});
    FAIL();
  } catch (const enf::WeightsError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'w' has shape [2, 3], expected [3, 2]"), std::string::npos) << e.what();
  }
  try {
    st.floats("missing", {1});
    FAIL();
  } catch (const enf::WeightsError& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor 'missing'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(st.shape("missing"), enf::WeightsError);
  EXPECT_THROW(st.ints("w"), enf::WeightsError);  // F32 is not an integer tensor
}

TEST(SafeTensors, ReadsEveryDtype) {
  std::vector<uint8_t> data(36);
  put<double>(data, 0, 0.1);
  put<double>(data, 8, -2.5);  // a: F64 [2], bytes [0, 16)
  put<int32_t>(data, 16, -7);
  put<int32_t>(data, 20, 1 << 30);  // b: I32 [2], bytes [16, 24)
  put<int64_t>(data, 24, int64_t(1) << 40);  // c: I64 [1], bytes [24, 32)
  put<float>(data, 32, 1.5f);  // s: F32 scalar [], bytes [32, 36)
  const std::string header = R"({"b":{"dtype":"I32","shape":[2],"data_offsets":[16,24]},)"
                             R"("a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
                             R"("c":{"dtype":"I64","shape":[1],"data_offsets":[24,32]},)"
                             R"("e":{"dtype":"F32","shape":[0,4],"data_offsets":[36,36]},)"
                             R"("s":{"dtype":"F32","shape":[],"data_offsets":[32,36]}})";
  const auto st = enf::SafeTensors::from_bytes(make_file(header, data));
  EXPECT_EQ(st.floats("a", {2}), (std::vector<float>{0.1f, -2.5f}));  // F64 narrowed to float
  EXPECT_EQ(st.ints("b"), (std::vector<int64_t>{-7, 1 << 30}));
  EXPECT_EQ(st.ints("c"), (std::vector<int64_t>{int64_t(1) << 40}));
  EXPECT_EQ(st.floats("s", {}), (std::vector<float>{1.5f}));
  EXPECT_TRUE(st.floats("e", {0, 4}).empty());
  EXPECT_THROW(st.floats("b", {2}), enf::WeightsError);
  EXPECT_TRUE(st.metadata().empty());
}

TEST(SafeTensors, CorruptFilesAreRejectedWithTheReason) {
  const auto f = tiny_file(true);
  const auto data = w_data();
  expect_weights_error(std::vector<uint8_t>(f.begin(), f.begin() + 5), "truncated");
  expect_weights_error(std::vector<uint8_t>(f.begin(), f.end() - 4), "truncated: tensor 'w' needs bytes [0, 24)");
  expect_weights_error(make_file("{" + kW + "}", data, 1000), "exceeds the file size");
  expect_weights_error(make_file("{" + kW + "}", data, uint64_t(1) << 62), "100 MB");
  expect_weights_error(make_file("{not json}", data), "not valid JSON");
  expect_weights_error(make_file("[1, 2]", data), "not a JSON object");
  expect_weights_error(make_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", data), "needs 24");
  expect_weights_error(make_file(R"({"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,24]}})", data),
                       "unsupported dtype BF16");
  expect_weights_error(make_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}})", data),
                       "needs bytes [8, 32) but the data section has 24 bytes");
  expect_weights_error(make_file(R"({"w":{"dtype":"F32","shape":[2,3]}})", data), "data_offsets");
  expect_weights_error(make_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0]}})", data), "data_offsets");
  expect_weights_error(make_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[-4,20]}})", data),
                       "invalid data_offsets");
  expect_weights_error(make_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,1e300]}})", data),
                       "invalid data_offsets");
  expect_weights_error(make_file(R"({"w":{"dtype":"F32","shape":[-2,3],"data_offsets":[0,24]}})", data),
                       "invalid shape");
  expect_weights_error(make_file(R"({"w":{"dtype":"F32","shape":[2.5,3],"data_offsets":[0,24]}})", data),
                       "invalid shape");
  expect_weights_error(make_file(R"({"w":{"dtype":"F32","shape":"2x3","data_offsets":[0,24]}})", data), "malformed");
  expect_weights_error(make_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"__metadata__":{"n":1}})",
                                 data),
                       "malformed");
  // Two tensors over the same bytes, a gap no tensor uses, bytes after the last tensor.
  expect_weights_error(make_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                                 R"("v":{"dtype":"F32","shape":[1],"data_offsets":[20,24]}})",
                                 data),
                       "overlap");
  expect_weights_error(make_file(R"({"w":{"dtype":"F32","shape":[5],"data_offsets":[4,24]}})", data), "hole");
  auto longer = data;
  longer.resize(32);
  expect_weights_error(make_file("{" + kW + "}", longer), "size mismatch");
  expect_weights_error(make_file("{" + kW + "," + kW + "}", data), "duplicate key 'w'");
  auto flipped = f;
  flipped[flipped.size() - 3] ^= 0x40;
  expect_weights_error(flipped, "checksum mismatch");
  EXPECT_NO_THROW(enf::SafeTensors::from_bytes(flipped, /*verify_checksum=*/false));
}

TEST(SafeTensors, LoadFileNamesAMissingFile) {
  try {
    enf::SafeTensors::load_file("/nonexistent/dir/qm9.safetensors");
    FAIL();
  } catch (const enf::WeightsError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/qm9.safetensors"), std::string::npos) << e.what();
  }
}

TEST(SafeTensors, ConvertedCheckpointLoads) {
  if (!std::filesystem::exists(ENF_QM9_WEIGHTS))
    GTEST_SKIP() << "converted QM9 weights absent (" << ENF_QM9_WEIGHTS
                 << "): ../shared beside the checkout is missing, so the checkpoint was not converted";
  const auto st = enf::SafeTensors::load_file(ENF_QM9_WEIGHTS);  // verifies the sha256 in the metadata
  EXPECT_EQ(st.shape("transformations.1.odefunc.dynamics.egnn.gcl_0.edge_mlp.0.weight"), (std::vector<int64_t>{64, 130}));
  EXPECT_EQ(st.floats("transformations.1.odefunc.dynamics.egnn.gcl_0.edge_mlp.0.weight", {64, 130}).size(), 64u * 130u);
  EXPECT_EQ(st.shape("net_fn.egnn.gcl_0.edge_mlp.0.weight"), (std::vector<int64_t>{64, 129}));
  EXPECT_EQ(st.shape("transformations.0.h_log_s"), (std::vector<int64_t>{1, 6}));
  EXPECT_FALSE(st.has("transformations.0.initialized"));  // integer bookkeeping is not converted
  EXPECT_FALSE(st.has("transformations.1.int_time"));
  EXPECT_EQ(st.names().size(), 133u);
  const auto& md = st.metadata();
  EXPECT_EQ(md.at("format"), "enf-wasm/1");
  EXPECT_EQ(md.at("model"), "qm9");
  EXPECT_NE(md.at("license").find("MIT License"), std::string::npos);
  EXPECT_NE(md.at("source").find("\"nf\": 64"), std::string::npos);
  EXPECT_NE(md.at("config").find("n_atoms_histogram"), std::string::npos);
  EXPECT_EQ(md.at("sha256").size(), 64u);
}
