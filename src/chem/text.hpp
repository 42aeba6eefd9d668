// Line and field helpers shared by the XYZ and SDF readers (internal to src/chem).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace enf::chem::text {

// Lines of a text, CRLF or LF, numbered from 1.
struct Lines {
  std::string_view text;
  size_t pos = 0;
  int number = 0;  // 1-based number of the last line returned
  bool next(std::string_view& line);
};

// Whitespace-separated fields.
std::vector<std::string_view> fields(std::string_view line);
bool blank(std::string_view line);
std::string_view trim(std::string_view s);

// A plain decimal number (no hex floats, no NaN or Inf) into `out`; on failure the reason, naming
// `what` (e.g. "the coordinate '1x' is not a number"), and an empty string on success.
std::string parse_decimal(std::string_view f, const char* what, double& out);

}  // namespace enf::chem::text
