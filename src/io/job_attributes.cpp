// The root attributes shared by the run and evaluation outputs.
#include "manyworlds/io/job_attributes.hpp"

#include <string>
#include <vector>

namespace manyworlds {

namespace {
template <class Items>
std::vector<std::string> names_of(const Items& items) {
  std::vector<std::string> names;
  for (const auto& item : items) names.push_back(item.name);
  return names;
}
}  // namespace

void write_job_attributes(const h5::Group& root, const char* format, std::int64_t format_version, const JobConfig& job,
                          const Priors& priors) {
  root.write_attribute("format", format);
  root.write_attribute("format_version", format_version);
  root.write_attribute("program_version", MANYWORLDS_VERSION);
  root.write_attribute("job_name", job.run.name);
  root.write_attribute("job_file", job.file);
  root.write_attribute("job_text", job.text);
  root.write_attribute("priors_file", priors.file);
  root.write_attribute("priors_text", priors.text);
  root.write_attribute("seed", static_cast<std::int64_t>(job.run.seed));
  root.write_attribute("world_type_names", names_of(priors.world_types));
  root.write_attribute("segment_names", names_of(priors.segments));
  root.write_attribute("device_names", names_of(priors.devices));
  root.write_attribute("strategy_names", names_of(priors.strategies));
  root.write_attribute("tag_names", priors.tags);
  root.write_attribute("query_type_names", std::vector<std::string>(query_type_names.begin(), query_type_names.end()));
}

}  // namespace manyworlds
