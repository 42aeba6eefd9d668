// Golden-file JSON through verify_golden (the CLI's `enf verify` and the wasm verify() take it
// from users) against a tiny random model (fuzz/corpus/model/tiny.safetensors). Properties: text
// that is not a usable golden file raises InvalidInput (or SolverError when a solve fails),
// never reads out of bounds.
//
// Inputs starting with '{' are the JSON text itself. Any other input describes a golden file's
// structure (FuzzedDataProvider): case kinds, atom counts and matrices whose row and column
// counts usually match and sometimes do not. Byte mutations of JSON text rarely delete exactly
// one matrix row; this mode reaches those cases at once.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include "common.hpp"
#include "errors.hpp"
#include "models/qm9_model.hpp"
#include "models/safetensors.hpp"
#include "models/verify.hpp"

namespace {
const enf::Qm9Model* model = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::ifstream in(ENF_FUZZ_TINY_MODEL, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  static const enf::Qm9Model loaded = enf::Qm9Model::load(enf::SafeTensors::from_bytes(std::move(bytes)));
  model = &loaded;
  return 0;
}

namespace {

// rows x cols numbers, the counts off by one now and then.
void matrix(FuzzedDataProvider& in, std::ostringstream& out, int rows, int cols) {
  const auto vary = [&](int n) {
    return in.ConsumeIntegralInRange<int>(0, 7) == 0 ? std::max(0, n + in.ConsumeIntegralInRange<int>(-1, 1)) : n;
  };
  const int r = vary(rows);
  out << '[';
  for (int i = 0; i < r; ++i) {
    const int c = vary(cols);
    out << (i ? ",[" : "[");
    for (int j = 0; j < c; ++j) out << (j ? "," : "") << in.ConsumeFloatingPointInRange<double>(-3.0, 3.0);
    out << ']';
  }
  out << ']';
}

std::string structured(FuzzedDataProvider& in) {
  std::ostringstream out;
  out.precision(17);
  out << "{\"cases\":[";
  const int cases = in.ConsumeIntegralInRange<int>(1, 3);
  for (int k = 0; k < cases; ++k) {
    const int M = in.ConsumeIntegralInRange<int>(0, 11);  // the tiny model allows 9 atoms
    out << (k ? ",{" : "{");
    switch (in.ConsumeIntegralInRange<int>(0, 2)) {
      case 0:
        out << "\"t\":" << in.ConsumeFloatingPointInRange<double>(-1.0, 2.0) << ",\"state\":";
        matrix(in, out, M, 9);
        out << ",\"dstate_dt\":";
        matrix(in, out, M, 9);
        if (in.ConsumeBool()) {
          out << ",\"dequantizer_input\":{\"x\":";
          matrix(in, out, M, 3);
          out << ",\"h\":";
          matrix(in, out, M, 6);
          out << "},\"dequantizer_mu_logsigma\":";
          matrix(in, out, M, 12);
        }
        break;
      case 1: {
        out << "\"atoms\":[";
        for (int i = 0; i < M; ++i) out << (i ? "," : "") << (in.ConsumeBool() ? 1 : 6 + in.ConsumeIntegralInRange<int>(0, 3));
        out << "],\"x_centered\":";
        matrix(in, out, M, 3);
        out << ",\"dequant_eps\":";
        matrix(in, out, M, 6);
        out << ",\"h_lifted\":";
        matrix(in, out, M, 6);
        out << ",\"z\":";
        matrix(in, out, M, 9);
        out << ",\"log_q_h\":0,\"delta_logp\":0,\"log_pz\":0,\"log_pN\":0,\"log_p\":0";
        break;
      }
      default:
        out << "\"z\":";
        matrix(in, out, M, 9);
        out << ",\"x_h\":";
        matrix(in, out, M, 9);
        out << ",\"atom_types\":[";
        for (int i = 0, n = in.ConsumeIntegralInRange<int>(0, M + 1); i < n; ++i) out << (i ? "," : "") << i % 5;
        out << ']';
    }
    out << '}';
  }
  out << "]}";
  return out.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string text =
      size > 0 && data[0] == '{' ? std::string(reinterpret_cast<const char*>(data), size) : structured(in);
  enf::VerifyOptions o;
  o.rtol = o.atol = 1e-3;  // loose: the solves here only need to run, not to be accurate
  try {
    for (const auto& c : enf::verify_golden(*model, text, o)) FUZZ_CHECK(c.tolerance >= 0);
  } catch (const enf::InvalidInput&) {
  } catch (const enf::SolverError&) {
  }
  return 0;
}
