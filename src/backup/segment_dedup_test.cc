// SegmentDeduper's guard for sub-segment CBT: a chunk copied from the
// parent's recipe (its bytes possibly never read) must be found in the
// parent's data; if it is not, the segment fails rather than store the
// buffer's stale bytes as that chunk.

#include "backup/segment_dedup.h"

#include "backend/mem_backend.h"
#include "testing/small_repo.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIsWith;

TEST(SegmentDeduper, ACopiedChunkMissingFromTheParentIsNeverStored) {
  MemBackend backend(1 << 20);
  auto store =
      VmStore::Open(&backend, "vm1", ::vcsnap::testing::SmallRepoConfig());
  ASSERT_OK(store);
  SimilarityIndex similarity(2, 16);
  FpRunWriter fps(&backend, "vm1", "1");
  BackupStats stats;
  SegmentDeduper deduper(store->get(), nullptr, nullptr, &similarity, &fps,
                         &stats);
  Bytes data(8192, 0x41);  // stale bytes where the copied chunk would be
  std::vector<ChunkInfo> chunks;
  ChunkInfo fresh = DescribeChunk(data, 0, 4096, nullptr);
  ChunkInfo copied = DescribeChunk(data, 4096, 4096, nullptr);
  copied.fp[0] ^= 1;  // the parent's fingerprint, not these bytes'
  copied.reused = true;
  chunks = {fresh, copied};
  SegmentOutcome out;
  EXPECT_THAT(deduper.Process(data, chunks, nullptr, &out),
              StatusIsWith(StatusCode::kCorruption, "offset 4096"));
  EXPECT_EQ(stats.chunks_new, 0u);

  copied.reused = false;  // an ordinary new chunk is stored
  chunks = {fresh, copied};
  ASSERT_OK(deduper.Process(data, chunks, nullptr, &out));
  EXPECT_EQ(stats.chunks_new, 2u);
}

}  // namespace
}  // namespace vcsnap
