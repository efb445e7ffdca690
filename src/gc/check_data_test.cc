// check --read-data through the streaming read (gc/check_data.h): damage
// inside a group, a damaged group, a lost block and a damaged PDS chunk are
// each named by VM, snapshot and segment, on one thread or several.

#include <fstream>
#include <random>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "backup/backup.h"
#include "gc/check.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "recipe/catalog.h"
#include "recipe/recipe_pack.h"
#include "recipe/snapshot_recipe.h"
#include "store/group.h"
#include "store/pds_store.h"
#include "store/vm_store.h"
#include "testing/forwarding_backend.h"
#include "testing/small_repo.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

constexpr uint32_t kCheckSeg = ::vcsnap::testing::kSmallSegment;

class CheckDataTest : public ::testing::Test {
 protected:
  void Init(CompressionKind codec) {
    dir_ = ::vcsnap::testing::NewTempDir("check-data");
    RepoConfig config = ::vcsnap::testing::SmallRepoConfig();
    config.compression = codec;
    repo_ = std::move(*Repository::InitOn(
        std::make_unique<::vcsnap::testing::ForwardingBackend>(&fault_),
        config));
  }
  static Bytes Image(uint64_t seed) {
    std::mt19937_64 rng(seed);
    Bytes b(12 * kCheckSeg);
    for (auto& x : b) x = static_cast<uint8_t>(rng() & 0x3f);
    return b;
  }
  void Backup(const std::string& vm, const Bytes& img,
              const PdsIndex* pds = nullptr) {
    BackupOptions o;
    o.vm = vm;
    o.image_path = dir_ + "/" + vm + ".img";
    std::ofstream(o.image_path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(img.data()),
               static_cast<std::streamsize>(img.size()));
    o.threads = 2;
    o.pds = pds;
    ASSERT_OK(RunBackup(*repo_, o));
  }
  // VMs "a" and "b" backed up from `img`, then a PDS of their chunks
  // published; its generation.
  Result<uint32_t> TwoVmsAndAPds(const Bytes& img) {
    Init(CompressionKind::kZstd);
    Backup("a", img);
    Backup("b", img);
    VCSNAP_RETURN_IF_ERROR(RunPdsUpdate(*repo_, {0.5, 0}).status());
    return ReadCurrentPds(mem_);
  }
  std::vector<std::string> Problems(unsigned threads) {
    Result<CheckResult> c = RunCheck(*repo_, {true, threads});
    EXPECT_OK(c);
    return c.ok() ? c->problems : std::vector<std::string>{"check failed"};
  }
  // "VM <vm> snapshot S segment I" of the first segment (catalog order) whose
  // recipe references `raw`, found by reading the recipes directly.
  std::string FirstUse(const std::string& vm, uint64_t raw) {
    RecipeReader reader(&mem_, vm, kCheckSeg, nullptr);
    Result<Catalog> catalog = LoadCatalog(mem_, vm);
    EXPECT_OK(catalog);
    for (const CatalogEntry& ce : catalog->entries) {
      Result<SnapshotRecipe> s = LoadSnapshotRecipe(mem_, vm, ce.id);
      EXPECT_OK(s);
      for (size_t i = 0; i < s->segments.size(); ++i) {
        if (s->segments[i].zero) continue;
        Result<std::vector<RecipeEntry>> entries =
            reader.Read(s->segments[i].ref);
        EXPECT_OK(entries);
        for (const RecipeEntry& e : *entries) {
          if (e.kind == ChunkKind::kVm && e.vm_ref == raw) {
            return "VM " + vm + " snapshot " + std::to_string(ce.id) +
                   " segment " + std::to_string(i);
          }
        }
      }
    }
    return "unreferenced";
  }
  ContainerIndex Index(const std::string& vm, uint16_t c) {
    auto store = VmStore::Open(&mem_, vm, repo_->config());
    return *(*store)->LoadContainerIndex(c);
  }

  std::string dir_;
  MemBackend mem_{1 << 20};
  FaultBackend fault_{&mem_};
  std::unique_ptr<Repository> repo_;
};

// The group's checksum holds (re-bound after the damage, as if the chunk had
// been damaged in memory before it was written): only the fingerprint finds
// it, and the report names the one snapshot and segment that use it first.
TEST_F(CheckDataTest, DamagedChunkInTheMiddleOfAGroupIsNamedByItsFirstUse) {
  Init(CompressionKind::kNone);  // raw payloads: the chunk is found in place
  Bytes img = Image(1);
  Backup("vm", img);
  for (size_t i = 0; i < img.size(); i += 5 * kCheckSeg + 333) img[i] ^= 0x40;
  Backup("vm", img);
  ASSERT_TRUE(Problems(2).empty());

  const ContainerIndex index = Index("vm", 1);
  ASSERT_GE(index.entries.size(), 5u);
  const IndexEntry e = index.entries[index.entries.size() / 2];
  const uint32_t i = e.count / 2;  // a chunk in the middle of the group
  const uint64_t cid = e.first_cid + i;
  const std::string block = BlockName("vm", 1, index.generation, e.block);
  const GroupPlace place{"vm", 1, index.generation, block, e.offset};
  Bytes whole = *mem_.Get(block);
  Bytes group(whole.begin() + e.offset, whole.begin() + e.offset + e.length);
  auto decoded = DecodeGroup(group, place, GroupLimits{});
  ASSERT_OK(decoded);
  ASSERT_TRUE((*decoded)->Present(cid));
  group[kGroupHeaderSize + 4 * e.count + (*decoded)->offs[i] + 7] ^= 0x01;
  group = RebindGroup(group, place);
  std::copy(group.begin(), group.end(), whole.begin() + e.offset);
  ASSERT_OK(mem_.Put(block, whole));

  const std::string where = FirstUse("vm", ChunkRef{1, cid}.raw());
  ASSERT_NE(where, "unreferenced");
  for (unsigned threads : {1u, 2u}) {
    EXPECT_EQ(Problems(threads),
              std::vector<std::string>{
                  where + ": chunk does not match its fingerprint"})
        << threads;
  }
  // The structure check cannot see it.
  EXPECT_TRUE(RunCheck(*repo_, {false, 2})->problems.empty());
}

// A group that fails its checksum: every referenced chunk in it is reported
// with its own first use and the group's place; nothing else is.
TEST_F(CheckDataTest, DamagedGroupIsReportedForEachChunkWithThePlace) {
  Init(CompressionKind::kZstd);
  Backup("vm", Image(2));
  const ContainerIndex index = Index("vm", 1);
  ASSERT_GE(index.entries.size(), 5u);
  const IndexEntry e = index.entries[2];
  fault_.CorruptReads(BlockName("vm", 1, index.generation, e.block),
                      e.offset + e.length / 2);
  for (unsigned threads : {1u, 2u}) {
    const std::vector<std::string> problems = Problems(threads);
    ASSERT_EQ(problems.size(), e.live);
    for (uint32_t k = 0; k < e.count; ++k) {
      const std::string& p = problems[k];
      EXPECT_EQ(p.rfind(FirstUse("vm", ChunkRef{1, e.first_cid + k}.raw()) +
                            ": vm vm container 0001 gen 1 (",
                        0),
                0u)
          << p;
      EXPECT_NE(p.find("offset " + std::to_string(e.offset) +
                       ": group checksum mismatch"),
                std::string::npos)
          << p;
    }
  }
}

TEST_F(CheckDataTest, LostBlockIsReportedForEveryChunkInIt) {
  Init(CompressionKind::kZstd);
  Backup("vm", Image(3));
  const ContainerIndex index = Index("vm", 1);
  uint64_t in_block0 = 0;
  for (const IndexEntry& e : index.entries) {
    if (e.block == 0) in_block0 += e.live;
  }
  ASSERT_GT(in_block0, 0u);
  ASSERT_OK(mem_.Delete(BlockName("vm", 1, 1, 0)));
  const std::vector<std::string> problems = Problems(2);
  ASSERT_EQ(problems.size(), in_block0);
  for (const std::string& p : problems) {
    EXPECT_EQ(p.rfind("VM vm snapshot 1 segment ", 0), 0u) << p;
    EXPECT_NE(p.find("b000000"), std::string::npos) << p;
  }
}

// Two VMs whose first backups use the same PDS chunks: a damaged PDS block
// is reported for each of them, by its own place.
TEST_F(CheckDataTest, DamagedPdsChunkIsReportedForEveryVmUsingIt) {
  const Bytes img = Image(4);
  Result<uint32_t> gen = TwoVmsAndAPds(img);
  ASSERT_OK(gen);
  auto table = PdsTable::Load(mem_, *gen);
  ASSERT_OK(table);
  Backup("c", img, table->get());
  Backup("d", img, table->get());
  Result<CheckResult> clean = RunCheck(*repo_, {true, 2});
  ASSERT_OK(clean);
  ASSERT_TRUE(clean->problems.empty()) << clean->problems[0];
  fault_.CorruptReads(PdsBlockName(*gen, 0), 100);
  const std::vector<std::string> problems = Problems(2);
  size_t c = 0, d = 0, pds = 0;
  for (const std::string& p : problems) {
    c += p.rfind("VM c snapshot 1 segment ", 0) == 0;
    d += p.rfind("VM d snapshot 1 segment ", 0) == 0;
    // And once by the pass over the whole published generation.
    pds +=
        p.rfind("PDS generation " + std::to_string(*gen) + " chunk ", 0) == 0;
    EXPECT_NE(p.find("pds g" + std::to_string(*gen) + "+0:"), std::string::npos)
        << p;
    EXPECT_NE(p.find("checksum mismatch"), std::string::npos) << p;
  }
  EXPECT_EQ(c, 1u);
  EXPECT_EQ(d, 1u);
  EXPECT_EQ(pds, 1u);
  EXPECT_EQ(problems.size(), 3u);
}

// A damaged popular chunk that no snapshot uses yet is found too: the next
// backups would reference it without reading it. So is a damaged index.
TEST_F(CheckDataTest, TheWholePublishedPdsIsVerified) {
  Result<uint32_t> gen = TwoVmsAndAPds(Image(4));
  ASSERT_OK(gen);
  Result<CheckResult> clean = RunCheck(*repo_, {true, 2});
  ASSERT_OK(clean);
  ASSERT_TRUE(clean->problems.empty()) << clean->problems[0];
  Result<PdsGenerationInfo> info =
      PdsStore(&mem_, nullptr).GetGenerationInfo(*gen);
  ASSERT_OK(info);
  EXPECT_EQ(clean->pds_chunks_read, info->chunks);
  EXPECT_EQ(clean->pds_bytes_read, info->chunk_bytes);
  fault_.CorruptReads(PdsBlockName(*gen, 0), 100);
  Result<CheckResult> structure = RunCheck(*repo_, {false, 2});
  ASSERT_OK(structure);
  EXPECT_TRUE(structure->problems.empty());  // the data is not read
  std::vector<std::string> problems = Problems(2);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind(
                "PDS generation " + std::to_string(*gen) + " chunk ", 0),
            0u)
      << problems[0];
  fault_.ClearFaults();
  // The pointer lost: the sealed generation is still there, unpublished.
  Result<Bytes> pointer = mem_.Get("pds/current");
  ASSERT_OK(pointer);
  ASSERT_OK(mem_.Delete("pds/current"));
  structure = RunCheck(*repo_, {false, 2});
  ASSERT_OK(structure);
  ASSERT_EQ(structure->problems.size(), 1u);
  EXPECT_EQ(
      structure->problems[0].rfind(
          "PDS: 1 generation(s) are stored but pds/current is missing", 0),
      0u)
      << structure->problems[0];
  ASSERT_OK(mem_.Put("pds/current", *pointer));
  fault_.CorruptReads("pds/index/" + std::to_string(*gen) + "/p0", 40);
  structure = RunCheck(*repo_, {false, 2});
  ASSERT_OK(structure);
  ASSERT_EQ(structure->problems.size(), 1u);
  EXPECT_EQ(structure->problems[0].rfind(
                "PDS generation " + std::to_string(*gen) + " index: ", 0),
            0u)
      << structure->problems[0];
}

}  // namespace
}  // namespace vcsnap
