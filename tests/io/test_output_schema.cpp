// The schema tables against the layout block of docs/output-format.md, and the byte counts derived from them.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "manyworlds/io/output_schema.hpp"

namespace manyworlds {
namespace {

// One line of the docs' layout block: path, type, shape, unit.
struct DocumentedDataset {
  std::string type;
  std::string shape;
  std::string unit;
};

// The ```layout block of docs/output-format.md, keyed by dataset path.
std::map<std::string, DocumentedDataset> documented_layout() {
  std::ifstream docs(MANYWORLDS_SOURCE_DIR "/docs/output-format.md");
  EXPECT_TRUE(docs) << "docs/output-format.md not found";
  std::map<std::string, DocumentedDataset> layout;
  std::string line;
  bool inside = false;
  while (std::getline(docs, line)) {
    if (line == "```layout") {
      inside = true;
    } else if (inside && line.starts_with("```")) {
      break;
    } else if (inside && !line.empty()) {
      std::istringstream fields(line);
      std::string path;
      DocumentedDataset dataset;
      fields >> path >> dataset.type;
      const auto open_paren = line.find('('), close_paren = line.find(')');
      EXPECT_TRUE(open_paren != std::string::npos && close_paren != std::string::npos) << line;
      dataset.shape = line.substr(open_paren, close_paren - open_paren + 1);
      std::istringstream(line.substr(close_paren + 1)) >> dataset.unit;
      EXPECT_TRUE(layout.emplace(path, dataset).second) << "documented twice: " << path;
    }
  }
  return layout;
}

// What the schema tables say about the datasets of one group, in the docs' terms.
std::map<std::string, DocumentedDataset> schema_layout() {
  std::map<std::string, DocumentedDataset> layout;
  const std::string metric_type(h5::name_of(metric_element_type));
  for (const auto& field : iteration_metric_fields())
    layout["/metrics/" + std::string(field.name)] = {metric_type, "(I)", field.unit};
  for (const auto& field : runtime_metric_fields())
    layout["/runtime/" + std::string(field.name)] = {metric_type, "(I)", field.unit};
  for (const auto& field : world_stat_fields())
    layout["/worlds/stats/" + std::string(field.name)] = {metric_type, "(I, W)", field.unit};
  for (const BatchField& field : batch_fields()) {
    const std::string shape = field.width == 0 ? "(I, B)" : field.width == per_creative ? "(I, B, C)" : "(I, B, O)";
    layout["/batches/" + std::string(field.name)] = {std::string(h5::name_of(field.type())), shape, field.unit};
  }
  return layout;
}

bool in_schema_groups(const std::string& path) {
  for (const char* group : {"/metrics/", "/runtime/", "/worlds/stats/", "/batches/"})
    if (path.starts_with(group)) return true;
  return false;
}

TEST(OutputSchema, DocsLayoutBlockMatchesTheTablesInBothDirections) {
  const std::map<std::string, DocumentedDataset> documented = documented_layout();
  const std::map<std::string, DocumentedDataset> schema = schema_layout();
  ASSERT_GT(documented.size(), schema.size());
  for (const auto& [path, expected] : schema) {
    const auto found = documented.find(path);
    ASSERT_NE(found, documented.end()) << path << " is in the schema but not in docs/output-format.md";
    EXPECT_EQ(found->second.type, expected.type) << path;
    EXPECT_EQ(found->second.shape, expected.shape) << path;
    EXPECT_EQ(found->second.unit, expected.unit) << path;
  }
  for (const auto& [path, dataset] : documented)
    if (in_schema_groups(path)) EXPECT_TRUE(schema.contains(path)) << path << " is documented but not in the schema";
}

TEST(OutputSchema, NamesAreUniqueWithinEachTable) {
  const auto unique = [](const auto& fields) {
    std::set<std::string> names;
    for (const auto& field : fields) names.insert(field.name);
    return names.size() == fields.size();
  };
  EXPECT_TRUE(unique(iteration_metric_fields()));
  EXPECT_TRUE(unique(runtime_metric_fields()));
  EXPECT_TRUE(unique(world_stat_fields()));
  EXPECT_TRUE(unique(batch_fields()));
}

TEST(OutputSchema, BatchRowBytesCountEveryColumn) {
  // 3 int32, 11 uint8, 1 uint32, 2 observations of float32, 14 float32 scalars, C float32 per creative, 2 float64.
  for (int creatives : {1, 3, 5}) {
    const double expected = 3 * 4 + 11 + 4 + 2 * obs_dim * 4 + 14 * 4 + creatives * 4 + 2 * 8;
    EXPECT_EQ(batch_row_bytes(creatives), expected) << creatives << " creatives";
  }
  EXPECT_EQ(metric_bytes_per_iteration(),
            8.0 * static_cast<double>(iteration_metric_fields().size() + runtime_metric_fields().size()));
  EXPECT_EQ(world_stat_bytes_per_iteration(10), 80.0 * static_cast<double>(world_stat_fields().size()));
}

TEST(OutputSchema, FillPutsEveryRowFieldInItsColumn) {
  BatchRow row;
  row.experience.world = 7;
  row.experience.step = 3;
  row.experience.flags = flag_done | flag_converted;
  row.experience.conversion_value = 5.0f;
  row.experience.cost = 2.0f;
  row.experience.obs[4] = 0.25f;
  row.next_obs[1] = 0.5f;
  row.weight = 1.5;
  const std::vector<BatchRow> rows{row, row};
  const std::vector<float> bid_mean{0.1f, 0.2f};
  const std::vector<float> creative_log_prob{-1.0f, -2.0f, -3.0f, -4.0f};
  BatchColumns columns;
  columns.fill(rows, {bid_mean, -0.7f, creative_log_prob});
  columns.fill(rows, {bid_mean, -0.7f, creative_log_prob});  // a second fill replaces the first
  EXPECT_EQ(columns.world, (std::vector<std::int32_t>{7, 7}));
  EXPECT_EQ(columns.step, (std::vector<std::int32_t>{3, 3}));
  EXPECT_EQ(columns.done, (std::vector<std::uint8_t>{1, 1}));
  EXPECT_EQ(columns.converted, (std::vector<std::uint8_t>{1, 1}));
  EXPECT_EQ(columns.clicked, (std::vector<std::uint8_t>{0, 0}));
  EXPECT_EQ(columns.reward, (std::vector<float>{3.0f, 3.0f}));
  EXPECT_EQ(columns.weight, (std::vector<double>{1.5, 1.5}));
  ASSERT_EQ(columns.obs.size(), 2u * obs_dim);
  EXPECT_EQ(columns.obs[obs_dim + 4], 0.25f);
  EXPECT_EQ(columns.next_obs[1], 0.5f);
  EXPECT_EQ(columns.behaviour_bid_mean, bid_mean);
  EXPECT_EQ(columns.behaviour_log_std, (std::vector<float>{-0.7f, -0.7f}));
  EXPECT_EQ(columns.behaviour_creative_log_prob, creative_log_prob);
  // Every column of a scalar field has one value per row.
  for (const BatchField& field : batch_fields()) {
    if (field.width != 0) continue;
    std::visit([&](auto member) { EXPECT_EQ((columns.*member).size(), rows.size()) << field.name; }, field.column);
  }
}

}  // namespace
}  // namespace manyworlds
