// libFuzzer target: any byte string given to the priors parser yields Priors or an InputError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/world/priors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    manyworlds::parse_priors(text, "fuzz-priors.toml");
  } catch (const manyworlds::InputError&) {
    // the documented outcome for bad input; any other exception escapes and is reported as a crash
  }
  return 0;
}
