// libFuzzer target: any byte string given to the job parser yields a JobConfig or an InputError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "manyworlds/core/config.hpp"
#include "manyworlds/core/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    manyworlds::parse_job(text, "fuzz.toml");
  } catch (const manyworlds::InputError&) {
    // the documented outcome for bad input; any other exception escapes and is reported as a crash
  }
  return 0;
}
