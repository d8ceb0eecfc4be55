// Output-path checks shared by the subcommands.
#include "manyworlds/app/command_support.hpp"

#include <filesystem>

#include "manyworlds/io/checkpoint.hpp"

namespace manyworlds {

void check_output_path(const std::string& output, bool force, bool checkpoint_guard) {
  const std::filesystem::path path(output);
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(folder))
    throw InputError("output " + output + ": the folder " + folder.string() +
                     " does not exist; create it or pass another --output");
  if (std::filesystem::exists(path) && !force)
    throw OutputExistsError("output " + output +
                            " exists; pass --force to replace it (the old file stays until the new run completes) "
                            "or choose another --output");
  const std::string checkpoint = checkpoint_path_for(output);
  if (checkpoint_guard && std::filesystem::exists(checkpoint) && !force)
    throw OutputExistsError("a checkpoint " + checkpoint +
                            " of an unfinished run exists; pass --resume to continue it, or --force to start over");
}

}  // namespace manyworlds
