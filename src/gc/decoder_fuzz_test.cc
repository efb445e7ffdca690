// Mutation fuzzing of every decoder of stored bytes (SPEC §4: parsers check
// lengths before they allocate and never crash on bad input). Each decoder
// gets thousands of mutants of a valid encoding -- bit flips, truncations,
// huge length fields, insertions -- and pure random buffers. Run under ASan
// and UBSan in CI, any out-of-bounds read, overflow or huge allocation
// fails the build. Where the format is checksummed, a mutant that differs
// from the original must also be rejected: corruption is never accepted.

#include <functional>
#include <random>

#include "backend/mem_backend.h"
#include "fleet/manifest.h"
#include "format/repo_config.h"
#include "gc/check_record.h"
#include "pds/fp_run.h"
#include "pds/pds_table.h"
#include "recipe/bloom.h"
#include "recipe/catalog.h"
#include "recipe/dropped.h"
#include "recipe/lease.h"
#include "recipe/names.h"
#include "recipe/segment_recipe.h"
#include "recipe/snapshot_recipe.h"
#include "source/dirty_bitmap.h"
#include "store/container_format.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

constexpr int kMutants = 3000;

Bytes Mutate(const Bytes& in, std::mt19937_64& rng) {
  Bytes b = in;
  switch (rng() % 5) {
    case 0:  // flip 1-3 bits
      for (int i = 0, n = 1 + rng() % 3; i < n && !b.empty(); ++i) {
        b[rng() % b.size()] ^= static_cast<uint8_t>(1 << (rng() % 8));
      }
      break;
    case 1:  // truncate
      b.resize(b.empty() ? 0 : rng() % b.size());
      break;
    case 2:  // a huge or random 8-byte field anywhere (lengths, counts)
      if (b.size() >= 8) {
        uint64_t v = rng() % 2 ? ~0ull >> (rng() % 40) : rng();
        size_t at = rng() % (b.size() - 7);
        for (int i = 0; i < 8; ++i)
          b[at + i] = static_cast<uint8_t>(v >> (8 * i));
      }
      break;
    case 3: {  // insert a few bytes
      size_t at = b.empty() ? 0 : rng() % b.size();
      for (int i = 0, n = 1 + rng() % 16; i < n; ++i) {
        b.insert(b.begin() + static_cast<ptrdiff_t>(at),
                 static_cast<uint8_t>(rng()));
      }
      break;
    }
    default:  // random bytes
      b.resize(rng() % 4096);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
  }
  return b;
}

// Runs `decode` on mutants of `valid`; with `checksummed`, a mutant that
// differs from `valid` must fail.
void Fuzz(const char* what, const Bytes& valid, bool checksummed,
          const std::function<bool(const Bytes&)>& decode) {
  SCOPED_TRACE(what);
  ASSERT_TRUE(decode(valid)) << "the valid encoding must decode";
  std::mt19937_64 rng(std::hash<std::string>()(what));
  int accepted = 0;
  for (int i = 0; i < kMutants; ++i) {
    Bytes m = Mutate(valid, rng);
    bool ok = decode(m);
    if (ok && m != valid) {
      ++accepted;
      if (checksummed) ADD_FAILURE() << "accepted a mutant of " << what;
    }
  }
  if (!checksummed) ::testing::Test::RecordProperty(what, accepted);
}

TEST(DecoderFuzz, RepoConfig) {
  Fuzz("config", EncodeRepoConfig(RepoConfig::NewDefault()), true,
       [](const Bytes& b) { return DecodeRepoConfig(b).ok(); });
}

TEST(DecoderFuzz, SegmentRecipe) {
  std::vector<RecipeEntry> v(40);
  for (size_t i = 0; i < v.size(); ++i) {
    v[i].kind = static_cast<ChunkKind>(i % 3);
    v[i].length = 1000 + static_cast<uint32_t>(i);
    v[i].fp.fill(static_cast<uint8_t>(i));
    v[i].vm_ref = (1ull << 48) | i;
    v[i].pds_generation = 1;
    v[i].pds_size = 900;
  }
  Fuzz("segment recipe", EncodeSegmentRecipe(v, "p@0"), true,
       [](const Bytes& b) {
         return DecodeSegmentRecipe(b, "p@0", 1 << 21).ok();
       });
}

TEST(DecoderFuzz, SnapshotRecipeAndCatalog) {
  SnapshotRecipe s;
  s.id = 3;
  s.parent = 2;
  s.image_size = 10 * 65536 + 5;
  s.segment_size = 65536;
  s.segments.resize(11);
  s.segments[4].zero = true;
  Fuzz("snapshot recipe", EncodeSnapshotRecipe(s, "n"), true,
       [](const Bytes& b) { return DecodeSnapshotRecipe(b, "n").ok(); });
  Catalog c;
  c.next_id = 9;
  for (uint32_t i = 1; i < 9; ++i)
    c.entries.push_back({i, i - 1, i, 1, 1, 1, 0, 0});
  Fuzz("catalog", EncodeCatalog(c, "c"), true,
       [](const Bytes& b) { return DecodeCatalog(b, "c").ok(); });
}

TEST(DecoderFuzz, BloomFilters) {
  BloomBits bits(BloomParams::ForKeys(100));
  for (uint64_t i = 0; i < 100; ++i) bits.Add(i);
  // Unchecksummed here (the envelope around them checks); only safety.
  Fuzz("bloom bits", bits.Encode(), false,
       [](const Bytes& b) { return BloomBits::Decode(b).ok(); });
  Fuzz("bloom view", bits.Encode(), false, [](const Bytes& b) {
    Result<BloomView> v = BloomView::Parse(b);
    if (!v.ok()) return false;
    for (uint64_t k = 0; k < 200; ++k) v->MayContain(k);  // stays in bounds
    return true;
  });
  DroppedList list{4, {}};
  for (uint64_t i = 0; i < 40; ++i) list.refs.push_back((1ull << 48) | i * 3);
  Fuzz("dropped list", EncodeDropped(list, "d"), true,
       [](const Bytes& b) { return DecodeDropped(b, "d").ok(); });
  CountingBloom cb(BloomParams::ForKeys(100));
  cb.Add(5);
  Fuzz("counting bloom", cb.Encode(), false,
       [](const Bytes& b) { return CountingBloom::Decode(b).ok(); });
}

TEST(DecoderFuzz, ObjectsReadThroughABackend) {
  MemBackend mem;
  auto held = Lease::Acquire(&mem, "vm", "backup");  // kept while fuzzing
  ASSERT_OK(held);
  const Bytes lease = *mem.Get(LeaseName("vm"));
  Fuzz("lease", lease, true, [&](const Bytes& b) {
    EXPECT_OK(mem.Put(LeaseName("vm"), b));
    return ReadLease(mem, "vm").ok();
  });
  SortedRunWriter w(&mem, "vm", "r");
  for (uint64_t i = 0; i < 50; ++i) {
    FpRecord r;
    r.fp.fill(0);
    r.fp[0] = static_cast<uint8_t>(i);
    r.vm_ref = (1ull << 48) | i;
    ASSERT_OK(w.Add(r));
  }
  ASSERT_OK(w.Finish());
  const std::string part = FpPartName("vm", "r", 0);
  const Bytes run = *mem.Get(part);
  Fuzz("fingerprint run part", run, true, [&](const Bytes& b) {
    EXPECT_OK(mem.Put(part, b));
    FpRunReader r(&mem, "vm", "r", 1);
    FpRecord rec;
    Result<bool> got = r.Next(&rec);
    while (got.ok() && *got) got = r.Next(&rec);
    return got.ok();
  });
  std::vector<PdsIndexEntry> entries;
  for (uint64_t i = 0; i < 30; ++i) {
    PdsIndexEntry e;
    e.fp.fill(0);
    e.fp[0] = static_cast<uint8_t>(i);
    e.offset = i * 100;
    e.size = 100;
    entries.push_back(e);
  }
  ASSERT_OK(WritePdsIndex(mem, 1, entries));
  const Bytes index_part = *mem.Get("pds/index/1/p0");
  Fuzz("pds index part", index_part, true, [&](const Bytes& b) {
    EXPECT_OK(mem.Put("pds/index/1/p0", b));
    return PdsTable::Load(mem, 1).ok();
  });
  CheckResult check;
  check.vms = 3;
  check.problems = {"VM a snapshot 1 segment 2: damaged", "another"};
  ASSERT_OK(SaveCheckRecord(mem, MakeCheckRecord(check, true)));
  const Bytes record = *mem.Get(CheckRecordName());
  Fuzz("check record", record, true, [&](const Bytes& b) {
    EXPECT_OK(mem.Put(CheckRecordName(), b));
    return LoadCheckRecords(mem).ok();
  });
}

TEST(DecoderFuzz, StoreIndexDlogAndHead) {
  Bytes index = EncodeIndexHeader("vm/x/store/c0001/index", 1, 1, 0);
  IndexEntry e;
  e.first_cid = 0;
  e.count = 10;
  e.live = 10;
  e.length = 500;
  AppendIndexEntry("vm/x/store/c0001/index", index.size(), e, &index);
  // Torn tails are legal in appended objects: only safety is required.
  Fuzz("container index", index, false, [](const Bytes& b) {
    return ParseIndex(b, "vm/x/store/c0001/index", "vm x", 1, 1, 1 << 20).ok();
  });
  Bytes dlog = EncodeDlogHeader("d", 1, 1);
  AppendDlogRecord("d", dlog.size(), 7, &dlog);
  Fuzz("deletion log", dlog, false,
       [](const Bytes& b) { return ParseDlog(b, "d", "vm x", 1, 1).ok(); });
  Fuzz("deletion log salvage", dlog, false,
       [](const Bytes& b) { return SalvageDlog(b, "d").bad_records == 0; });
  Fuzz("container head", EncodeHead("h", 1, 3), true,
       [](const Bytes& b) { return DecodeHead(b, "h", 1).ok(); });
}

TEST(DecoderFuzz, BitmapsAndManifests) {
  Bytes bits(32, 0x5a);  // 256 granules of 2 MiB
  Fuzz("dirty bitmap", bits, false, [](const Bytes& b) {
    return DirtyBitmap::Parse(b, 1 << 21, 512ull << 20, 1 << 21).ok();
  });
  fleet::FleetManifest m;
  m.generator = "vcsnap-fleetgen";
  m.image_size = 64 << 20;
  m.segment_size = 2 << 20;
  m.granularity = 2 << 20;
  m.families = 1;
  std::string json = fleet::EncodeManifest(m);
  Fuzz("fleet manifest", Bytes(json.begin(), json.end()), false,
       [](const Bytes& b) {
         return fleet::DecodeManifest(std::string_view(AsChars(b)), "m").ok();
       });
}

}  // namespace
}  // namespace vcsnap
