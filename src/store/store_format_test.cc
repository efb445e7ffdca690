// Round trips and one named test per corruption class of the store formats.
#include <gtest/gtest.h>

#include "store/compressor.h"
#include "store/container_format.h"
#include "store/group.h"
#include "store/refs.h"
#include "store/store_testing.h"
#include "testing/status_matchers.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::CutChunks;
using ::vcsnap::testing::RealContent;
using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

TEST(RefsTest, ChunkRefRoundTrip) {
  ChunkRef ref{0x0102, 0x0000A1B2C3D4E5F6ull};
  Bytes b;
  AppendChunkRef(ref, &b);
  ASSERT_EQ(b.size(), kChunkRefSize);
  EXPECT_EQ(b[7], 0x01);
  EXPECT_EQ(b[6], 0x02);
  EXPECT_EQ(b[0], 0xF6);
  Result<ChunkRef> back = DecodeChunkRef(b);
  ASSERT_OK(back);
  EXPECT_EQ(*back, ref);
}

TEST(RefsTest, ChunkRefRejectsReservedContainers) {
  EXPECT_THAT(ChunkRef::FromRaw(0), StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(ChunkRef::FromRaw(uint64_t{0xFFFF} << 48 | 5),
              StatusIsWith(StatusCode::kCorruption, "PDS tag"));
}

TEST(RefsTest, PdsRefRoundTripAndNeverAChunkRef) {
  PdsRef ref{7, 123456789, 4096};
  Bytes b;
  AppendPdsRef(ref, &b);
  ASSERT_EQ(b.size(), kPdsRefSize);
  Result<PdsRef> back = DecodePdsRef(b);
  ASSERT_OK(back);
  EXPECT_EQ(*back, ref);
  // Its first word, read where a VM reference is expected, is rejected.
  EXPECT_THAT(DecodeChunkRef(b), StatusIs(StatusCode::kCorruption));
  // And a VM reference is never taken for a PDS one.
  Bytes vm;
  AppendChunkRef(ChunkRef{1, 9}, &vm);
  AppendChunkRef(ChunkRef{1, 10}, &vm);
  EXPECT_THAT(DecodePdsRef(vm), StatusIsWith(StatusCode::kCorruption, "tag"));
  Bytes zero_gen;
  AppendPdsRef(PdsRef{0, 1, 1}, &zero_gen);
  EXPECT_THAT(DecodePdsRef(zero_gen), StatusIs(StatusCode::kCorruption));
}

TEST(CompressorTest, RoundTripEveryCodec) {
  Bytes data = RealContent(256 << 10);
  for (CompressionKind k : {CompressionKind::kLz4, CompressionKind::kZstd}) {
    Bytes packed;
    ASSERT_TRUE(Compress(k, 3, data, &packed)) << CompressionName(k);
    EXPECT_LT(packed.size(), data.size());
    Bytes out(data.size());
    ASSERT_OK(Decompress(k, packed, out.data(), out.size()));
    EXPECT_EQ(out, data);
    // A wrong expected size is an error, not a short or long result.
    Bytes small(data.size() - 1);
    EXPECT_THAT(Decompress(k, packed, small.data(), small.size()),
                StatusIs(StatusCode::kCorruption));
  }
  Bytes packed;
  EXPECT_FALSE(Compress(CompressionKind::kNone, 0, data, &packed));
}

TEST(CompressorTest, IncompressibleIsReportedNotExpanded) {
  Bytes data(4096);
  uint64_t x = 1;
  for (auto& b : data) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    b = static_cast<uint8_t>(x >> 56);
  }
  Bytes packed;
  EXPECT_FALSE(Compress(CompressionKind::kZstd, 1, data, &packed));
  EXPECT_FALSE(Compress(CompressionKind::kLz4, 1, data, &packed));
}

class GroupFormatTest : public ::testing::Test {
 protected:
  const std::string block_ = "vm/web1/store/c0001/g00000001/b000000";
  GroupPlace Here(uint64_t offset = 4096) const {
    return GroupPlace{"web1", 1, 1, block_, offset};
  }
  Bytes Encode(CompressionKind kind, std::vector<uint32_t>* lens = nullptr) {
    chunks_ = CutChunks(RealContent(64 << 10), 4096);
    std::vector<uint32_t> l;
    Bytes raw;
    for (const Bytes& c : chunks_) {
      l.push_back(static_cast<uint32_t>(c.size()));
      raw.insert(raw.end(), c.begin(), c.end());
    }
    if (lens != nullptr) *lens = l;
    Bytes scratch;
    return EncodeGroup(kind, 1, 1, 1000, l, raw, Here(), &scratch);
  }
  // Rewrites a header field and re-seals, so the check under test -- not
  // the checksum -- is what must catch it.
  Bytes Tamper(Bytes g, size_t at, uint32_t value, int width) {
    if (width == 2) EncodeFixed16(g.data() + at, static_cast<uint16_t>(value));
    if (width == 4) EncodeFixed32(g.data() + at, value);
    return RebindGroup(g, Here());
  }
  std::vector<Bytes> chunks_;
};

// The bytes of an uncompressed group, field by field as
// docs/format/store-group.md lays them out: the encoder may change, the
// stored layout may not. A compressed group differs only in codec,
// payload_len and payload.
TEST_F(GroupFormatTest, TheLayoutIsTheDocumentedOne) {
  const std::vector<uint32_t> lens = {3, 0x80000000u, 2};  // middle absent
  const Bytes raw = {'a', 'b', 'c', 'd', 'e'};
  Bytes scratch;
  const Bytes g = EncodeGroup(CompressionKind::kLz4, 1, 0x0102, 0x1122334455,
                              lens, raw, Here(), &scratch);
  Bytes want = {'V',
                'C',
                'S',
                'G',
                1,
                0,
                /*codec: raw, lz4 did not help*/ 0,
                /*flags*/ 0,
                0x02,
                0x01,
                0,
                0,
                0x55,
                0x44,
                0x33,
                0x22,
                0x11,
                0,
                0,
                0,  // first CID
                3,
                0,
                0,
                0,  // count
                5,
                0,
                0,
                0,  // raw_len
                5,
                0,
                0,
                0,  // payload_len
                3,
                0,
                0,
                0,
                0,
                0,
                0,
                0x80,
                2,
                0,
                0,
                0,  // lens
                'a',
                'b',
                'c',
                'd',
                'e'};
  const GroupPlace here = Here();
  const uint64_t sum =
      Checksum64(want, GroupSeed(here.block_name, here.offset));
  want.resize(want.size() + 8);
  EncodeFixed64(want.data() + want.size() - 8, sum);
  EXPECT_EQ(g, want);
}

TEST_F(GroupFormatTest, RoundTripEveryCodec) {
  for (CompressionKind k : {CompressionKind::kNone, CompressionKind::kLz4,
                            CompressionKind::kZstd}) {
    Bytes g = Encode(k);
    auto d = DecodeGroup(g, Here(), GroupLimits{});
    ASSERT_OK(d);
    EXPECT_EQ((*d)->first_cid, 1000u);
    ASSERT_EQ((*d)->count(), chunks_.size());
    for (size_t i = 0; i < chunks_.size(); ++i) {
      ByteView c = (*d)->Chunk(1000 + i);
      EXPECT_EQ(Bytes(c.begin(), c.end()), chunks_[i]);
    }
    if (k != CompressionKind::kNone) {
      EXPECT_LT(g.size(), 64u << 10);
    }
  }
}

TEST_F(GroupFormatTest, AbsentEntriesRoundTrip) {
  std::vector<uint32_t> lens = {5, kAbsentBit, 3};
  Bytes raw = ToBytes("helloabc");
  Bytes scratch;
  Bytes g =
      EncodeGroup(CompressionKind::kZstd, 1, 1, 7, lens, raw, Here(), &scratch);
  auto d = DecodeGroup(g, Here(), GroupLimits{});
  ASSERT_OK(d);
  EXPECT_TRUE((*d)->Present(7));
  EXPECT_FALSE((*d)->Present(8));
  EXPECT_TRUE((*d)->Covers(8));
  EXPECT_EQ(AsChars((*d)->Chunk(9)), "abc");
}

TEST_F(GroupFormatTest, BadMagic) {
  Bytes g = Encode(CompressionKind::kZstd);
  g[0] = 'X';
  EXPECT_THAT(DecodeGroup(g, Here(), GroupLimits{}),
              StatusIsWith(StatusCode::kCorruption, "bad magic"));
}

TEST_F(GroupFormatTest, UnknownVersion) {
  Bytes g = Tamper(Encode(CompressionKind::kZstd), 4, 2, 2);
  EXPECT_THAT(DecodeGroup(g, Here(), GroupLimits{}),
              StatusIsWith(StatusCode::kNotSupported, "version 2"));
}

TEST_F(GroupFormatTest, TruncatedGroup) {
  Bytes g = Encode(CompressionKind::kZstd);
  EXPECT_THAT(DecodeGroup(ByteView(g).first(20), Here(), GroupLimits{}),
              StatusIsWith(StatusCode::kCorruption, "truncated group"));
  // Cut anywhere else: the checksum no longer sits at the end.
  EXPECT_THAT(
      DecodeGroup(ByteView(g).first(g.size() - 100), Here(), GroupLimits{}),
      StatusIs(StatusCode::kCorruption));
}

TEST_F(GroupFormatTest, LengthPastTheEnd) {
  Bytes g = Encode(CompressionKind::kZstd);
  uint32_t payload = DecodeFixed32(g.data() + 28);
  Bytes bad = Tamper(g, 28, payload + 1000, 4);
  auto r = DecodeGroup(bad, Here(), GroupLimits{});
  EXPECT_THAT(r, StatusIsWith(StatusCode::kCorruption, "length past the end"));
  EXPECT_THAT(r,
              StatusIsWith(StatusCode::kCorruption, "vm web1 container 0001"));
  EXPECT_THAT(r, StatusIsWith(StatusCode::kCorruption, "offset 4096"));
  // A raw size over the limit is refused before anything is allocated.
  Bytes huge = Tamper(g, 24, 0x7FFFFFFF, 4);
  EXPECT_THAT(DecodeGroup(huge, Here(), GroupLimits{}),
              StatusIsWith(StatusCode::kCorruption, "over the limit"));
  // A count past the bytes held.
  Bytes many = Tamper(g, 20, 60000, 4);
  EXPECT_THAT(DecodeGroup(many, Here(), GroupLimits{}),
              StatusIs(StatusCode::kCorruption));
}

TEST_F(GroupFormatTest, ChecksumMismatch) {
  Bytes g = Encode(CompressionKind::kZstd);
  g[g.size() / 2] ^= 0x10;
  EXPECT_THAT(DecodeGroup(g, Here(), GroupLimits{}),
              StatusIsWith(StatusCode::kCorruption, "checksum mismatch"));
}

TEST_F(GroupFormatTest, MisplacedGroup) {
  Bytes g = Encode(CompressionKind::kZstd);
  // The same bytes at another offset, in another block, or of another
  // generation of the container (stale) all fail.
  EXPECT_THAT(DecodeGroup(g, Here(8192), GroupLimits{}),
              StatusIsWith(StatusCode::kCorruption, "misplaced"));
  GroupPlace other{"web1", 1, 2, "vm/web1/store/c0001/g00000002/b000000", 4096};
  EXPECT_THAT(DecodeGroup(g, other, GroupLimits{}),
              StatusIsWith(StatusCode::kCorruption, "misplaced"));
  // A group of container 1 presented as container 2's, checksum intact.
  GroupPlace c2 = Here();
  c2.container = 2;
  EXPECT_THAT(DecodeGroup(g, c2, GroupLimits{}),
              StatusIsWith(StatusCode::kCorruption, "container 1"));
}

TEST_F(GroupFormatTest, BadChunkLengths) {
  Bytes g = Encode(CompressionKind::kZstd);
  uint32_t first = DecodeFixed32(g.data() + kGroupHeaderSize);
  Bytes bad = Tamper(g, kGroupHeaderSize, first + 1, 4);
  EXPECT_THAT(DecodeGroup(bad, Here(), GroupLimits{}),
              StatusIsWith(StatusCode::kCorruption, "raw size"));
}

TEST(ContainerFormatTest, IndexRoundTripAndTornTail) {
  const std::string name = "vm/a/store/c0003/g00000001/index";
  Bytes b = EncodeIndexHeader(name, 3, 1, 0);
  IndexEntry e1{0, 10, 10, 0, 500, 0};
  IndexEntry e2{10, 5, 4, 0, 300, 500};
  AppendIndexEntry(name, b.size(), e1, &b);
  AppendIndexEntry(name, b.size(), e2, &b);
  Result<ParsedIndex> p = ParseIndex(b, name, "vm a", 3, 1, 1 << 20);
  ASSERT_OK(p);
  ASSERT_EQ(p->entries.size(), 2u);
  EXPECT_EQ(p->entries[1].live, 4u);
  EXPECT_EQ(p->next_cid(), 15u);
  // A partial record (crash mid-append) is ignored.
  for (size_t cut = b.size() - kIndexEntrySize + 1; cut < b.size(); cut += 7) {
    Result<ParsedIndex> t =
        ParseIndex(ByteView(b).first(cut), name, "vm a", 3, 1, 1 << 20);
    ASSERT_OK(t);
    EXPECT_EQ(t->entries.size(), 1u);
    EXPECT_EQ(t->valid_bytes, kIndexHeaderSize + kIndexEntrySize);
  }
  // A torn header means "no container yet".
  Result<ParsedIndex> h =
      ParseIndex(ByteView(b).first(10), name, "vm a", 3, 1, 1 << 20);
  ASSERT_OK(h);
  EXPECT_FALSE(h->has_header);
  // The index of another container is refused.
  EXPECT_THAT(
      ParseIndex(b, "vm/a/store/c0004/g00000001/index", "vm a", 4, 1, 1 << 20),
      StatusIs(StatusCode::kCorruption));
}

TEST(ContainerFormatTest, IndexEntryChecksumMismatch) {
  const std::string name = "vm/a/store/c0003/g00000001/index";
  Bytes b = EncodeIndexHeader(name, 3, 1, 0);
  AppendIndexEntry(name, b.size(), IndexEntry{0, 10, 10, 0, 500, 0}, &b);
  b[kIndexHeaderSize + 3] ^= 1;
  EXPECT_THAT(ParseIndex(b, name, "vm a container 0003", 3, 1, 1 << 20),
              StatusIsWith(StatusCode::kCorruption, "offset 32"));
}

TEST(ContainerFormatTest, DuplicateCid) {
  const std::string name = "vm/a/store/c0003/g00000001/index";
  Bytes b = EncodeIndexHeader(name, 3, 1, 0);
  AppendIndexEntry(name, b.size(), IndexEntry{0, 10, 10, 0, 500, 0}, &b);
  AppendIndexEntry(name, b.size(), IndexEntry{9, 10, 10, 0, 500, 500}, &b);
  EXPECT_THAT(ParseIndex(b, name, "vm a container 0003", 3, 1, 1 << 20),
              StatusIsWith(StatusCode::kCorruption, "duplicate CID 9"));
}

TEST(ContainerFormatTest, IndexUnknownVersion) {
  const std::string name = "vm/a/store/c0003/g00000001/index";
  Bytes b = EncodeIndexHeader(name, 3, 1, 0);
  EncodeFixed16(b.data() + 4, 9);
  EncodeFixed64(b.data() + 24,
                Checksum64(ByteView(b).first(24), IdentitySeed(name)));
  EXPECT_THAT(ParseIndex(b, name, "vm a", 3, 1, 1 << 20),
              StatusIs(StatusCode::kNotSupported));
}

TEST(ContainerFormatTest, IndexEntryPastBlockLimit) {
  const std::string name = "vm/a/store/c0003/g00000001/index";
  Bytes b = EncodeIndexHeader(name, 3, 1, 0);
  AppendIndexEntry(name, b.size(), IndexEntry{0, 10, 10, 0, 5000, 1 << 20}, &b);
  EXPECT_THAT(ParseIndex(b, name, "vm a", 3, 1, 1 << 20),
              StatusIsWith(StatusCode::kCorruption, "out of range"));
}

TEST(ContainerFormatTest, DlogRoundTripTornAndDamaged) {
  const std::string name = "vm/a/store/c0003/g00000002/dlog";
  Bytes b = EncodeDlogHeader(name, 3, 2);
  for (uint64_t cid : {5, 9, 5}) AppendDlogRecord(name, b.size(), cid, &b);
  Result<ParsedDlog> p = ParseDlog(b, name, "vm a", 3, 2);
  ASSERT_OK(p);
  EXPECT_EQ(p->cids, (std::vector<uint64_t>{5, 9, 5}));
  Result<ParsedDlog> t =
      ParseDlog(ByteView(b).first(b.size() - 3), name, "vm a", 3, 2);
  ASSERT_OK(t);
  EXPECT_EQ(t->cids.size(), 2u);
  b[kDlogHeaderSize + kDlogRecordSize] ^= 4;
  EXPECT_THAT(ParseDlog(b, name, "vm a", 3, 2),
              StatusIsWith(StatusCode::kCorruption, "checksum"));
  // Bound to its generation: gen 2's log is not gen 3's.
  EXPECT_THAT(ParseDlog(EncodeDlogHeader(name, 3, 2), name, "vm a", 3, 3),
              StatusIs(StatusCode::kCorruption));
}

TEST(ContainerFormatTest, SalvageKeepsEveryRecordWhoseChecksumHolds) {
  const std::string name = "vm/a/store/c0003/g00000002/dlog";
  Bytes b = EncodeDlogHeader(name, 3, 2);
  for (uint64_t cid : {5, 9, 11, 5}) AppendDlogRecord(name, b.size(), cid, &b);
  b.push_back(1);  // a torn tail is no record
  b[1] ^= 0x10;    // the header too: records do not need it
  b[kDlogHeaderSize + kDlogRecordSize + 2] ^= 4;  // the record of CID 9
  SalvagedDlog s = SalvageDlog(b, name);
  EXPECT_EQ(s.cids, (std::vector<uint64_t>{5, 11, 5}));
  EXPECT_EQ(s.bad_records, 1u);
  // Records are bound to their log's name: another log keeps none.
  SalvagedDlog other = SalvageDlog(b, "vm/a/store/c0003/g00000003/dlog");
  EXPECT_TRUE(other.cids.empty());
  EXPECT_EQ(other.bad_records, 4u);
  EXPECT_TRUE(SalvageDlog(ByteView(b).first(10), name).cids.empty());
}

TEST(ContainerFormatTest, HeadRoundTrip) {
  const std::string name = HeadName("a", 3);
  Bytes h = EncodeHead(name, 3, 42);
  Result<uint32_t> gen = DecodeHead(h, name, 3);
  ASSERT_OK(gen);
  EXPECT_EQ(*gen, 42u);
  EXPECT_THAT(DecodeHead(h, HeadName("a", 4), 4),
              StatusIs(StatusCode::kCorruption));
}

TEST(ContainerFormatTest, Names) {
  EXPECT_EQ(BlockName("web1", 1, 2, 3),
            "vm/web1/store/c0001/g00000002/b000003");
  EXPECT_EQ(ParseContainerId("c00ff/head"), uint16_t{255});
  EXPECT_EQ(ParseContainerId("cxyz0/head"), std::nullopt);
  EXPECT_EQ(ParseGeneration("g0000000a/index"), uint32_t{10});
  EXPECT_EQ(ParseBlock("b00000f"), uint32_t{15});
  EXPECT_EQ(ParseBlock("index"), std::nullopt);
}

}  // namespace
}  // namespace vcsnap
