// Fleet manifest: round trip and one test per class of bad input.

#include "fleet/manifest.h"

#include <nlohmann/json.hpp>

#include "fleet/image_file.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap::fleet {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

FleetManifest Sample() {
  FleetManifest m;
  m.generator = "vcsnap-fleetgen test";
  m.seed = 9;
  m.image_size = 8 << 20;
  m.segment_size = 2 << 20;
  m.granularity = 64 << 10;
  m.change_rate = 0.02;
  m.families = 3;
  m.growth_probability = 0.5;
  m.update_period = 3;
  m.scatter = 0.1;
  m.dirty_target = 0.15;
  m.source_families = true;
  m.source_root = "/usr";
  m.source_digest = std::string(64, 'a');
  m.source_files = 10;
  m.source_bytes = 1000;
  FleetVm vm;
  vm.name = "vm-00";
  vm.family = 1;
  vm.clone = true;
  for (uint32_t d = 0; d < 2; ++d) {
    FleetDay day;
    day.day = d;
    day.image = "vm-00/day-0" + std::to_string(d) + ".img";
    day.bitmap = "vm-00/day-0" + std::to_string(d) + ".bitmap";
    day.image_present = d == 1;
    day.size = 8 << 20;
    day.allocated = 4096;
    day.sha256 = std::string(64, d == 0 ? 'b' : 'c');
    day.written_bytes = 12345;
    day.dirty_ranges = {{0, 2}, {3, 1}};
    day.dirty_segments = 3;
    day.events["moves"] = 2;
    vm.days.push_back(day);
  }
  m.vms.push_back(vm);
  return m;
}

// Encodes Sample(), lets `edit` change the JSON, decodes.
template <typename F>
Result<FleetManifest> Edited(F edit) {
  nlohmann::json j = nlohmann::json::parse(EncodeManifest(Sample()));
  edit(j);
  return DecodeManifest(j.dump(), "test");
}

TEST(FleetManifestTest, RoundTrips) {
  const FleetManifest m = Sample();
  auto back = DecodeManifest(EncodeManifest(m), "test");
  ASSERT_OK(back);
  EXPECT_EQ(EncodeManifest(*back), EncodeManifest(m));
  EXPECT_EQ(back->vms[0].days[1].DirtySegmentList(),
            (std::vector<uint64_t>{0, 1, 3}));
  EXPECT_FALSE(back->vms[0].days[0].image_present);
  EXPECT_EQ(back->vms[0].days[1].events.at("moves"), 2u);
}

TEST(FleetManifestTest, WriteThenReadFromDirectory) {
  const std::string dir = testing::NewTempDir("manifest");
  ASSERT_OK(WriteFleetManifest(dir, Sample()));
  auto m = ReadFleetManifest(dir);
  ASSERT_OK(m);
  EXPECT_EQ(m->seed, 9u);
}

TEST(FleetManifestTest, MissingManifestIsNotFound) {
  EXPECT_THAT(ReadFleetManifest(testing::NewTempDir("manifest-none")),
              StatusIs(StatusCode::kNotFound));
}

TEST(FleetManifestTest, NotJsonIsCorruption) {
  EXPECT_THAT(DecodeManifest("{\"format\": ", "test"),
              StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(DecodeManifest("[1, 2]", "test"),
              StatusIs(StatusCode::kCorruption));
}

TEST(FleetManifestTest, WrongFormatIsCorruption) {
  EXPECT_THAT(Edited([](auto& j) { j["format"] = "something-else"; }),
              StatusIsWith(StatusCode::kCorruption, "not a fleet manifest"));
}

TEST(FleetManifestTest, NewerVersionIsNotSupported) {
  EXPECT_THAT(Edited([](auto& j) { j["version"] = kManifestVersion + 1; }),
              StatusIs(StatusCode::kNotSupported));
}

TEST(FleetManifestTest, Version2RecordsTheDirtyTargetAndSourceFamilies) {
  auto m = DecodeManifest(EncodeManifest(Sample()), "m");
  ASSERT_OK(m);
  EXPECT_EQ(m->version, 2u);
  EXPECT_EQ(m->dirty_target, 0.15);
  EXPECT_TRUE(m->source_families);
  // Version 1 had neither field: it still reads, with both unrecorded.
  auto v1 = Edited([](auto& j) {
    j["version"] = 1;
    j.erase("dirty_target");
    j.erase("source_families");
  });
  ASSERT_OK(v1);
  EXPECT_EQ(v1->dirty_target, 0);
  EXPECT_FALSE(v1->source_families);
  EXPECT_THAT(Edited([](auto& j) { j.erase("dirty_target"); }),
              StatusIsWith(StatusCode::kCorruption, "dirty_target"));
  EXPECT_THAT(Edited([](auto& j) { j["dirty_target"] = 3; }),
              StatusIsWith(StatusCode::kCorruption, "dirty_target"));
  EXPECT_THAT(Edited([](auto& j) { j["source_families"] = 1; }),
              StatusIsWith(StatusCode::kCorruption, "source_families"));
}

TEST(FleetManifestTest, MissingOrMistypedFieldIsCorruption) {
  EXPECT_THAT(Edited([](auto& j) { j.erase("seed"); }),
              StatusIsWith(StatusCode::kCorruption, "seed"));
  EXPECT_THAT(Edited([](auto& j) { j["vms"][0]["days"][0]["size"] = "big"; }),
              StatusIsWith(StatusCode::kCorruption, "vm vm-00 day 0"));
}

TEST(FleetManifestTest, PathOutsideTheFleetIsCorruption) {
  EXPECT_THAT(
      Edited([](auto& j) { j["vms"][0]["days"][1]["image"] = "../etc/x"; }),
      StatusIsWith(StatusCode::kCorruption, "relative path"));
  EXPECT_THAT(
      Edited([](auto& j) { j["vms"][0]["days"][1]["bitmap"] = "/etc/passwd"; }),
      StatusIsWith(StatusCode::kCorruption, "relative path"));
}

TEST(FleetManifestTest, DirtyRangeOutsideTheImageIsCorruption) {
  EXPECT_THAT(Edited([](auto& j) {
                j["vms"][0]["days"][1]["dirty_ranges"][1] = {3, 10};
              }),
              StatusIsWith(StatusCode::kCorruption, "outside the image"));
}

TEST(FleetManifestTest, DirtyCountMismatchIsCorruption) {
  EXPECT_THAT(
      Edited([](auto& j) { j["vms"][0]["days"][1]["dirty_segments"] = 7; }),
      StatusIsWith(StatusCode::kCorruption, "dirty_segments"));
}

TEST(FleetManifestTest, BadSegmentSizeIsCorruption) {
  EXPECT_THAT(Edited([](auto& j) { j["segment_size"] = 3000; }),
              StatusIsWith(StatusCode::kCorruption, "segment_size"));
  EXPECT_THAT(Edited([](auto& j) { j["granularity"] = 4 << 20; }),
              StatusIsWith(StatusCode::kCorruption, "granularity"));
}

TEST(FleetManifestTest, BadDigestOrDayOrderIsCorruption) {
  EXPECT_THAT(Edited([](auto& j) { j["vms"][0]["days"][0]["sha256"] = "XYZ"; }),
              StatusIsWith(StatusCode::kCorruption, "sha256"));
  EXPECT_THAT(Edited([](auto& j) { j["vms"][0]["days"][1]["day"] = 5; }),
              StatusIsWith(StatusCode::kCorruption, "out of order"));
}

}  // namespace
}  // namespace vcsnap::fleet
