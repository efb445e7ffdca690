#include "format/envelope.h"

#include <algorithm>
#include <string_view>

#include "testing/status_matchers.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

const EnvelopeSpec kSpec{{'T', 'E', 'S', 'T'}, "test object", 2, 3, 1024};

TEST(Envelope, RoundTrip) {
  Bytes e = EncodeEnvelope(kSpec, 3, "obj/1", AsBytes("payload"));
  EXPECT_EQ(e.size(), 7 + kEnvelopeOverhead);
  auto d = DecodeEnvelope(kSpec, "obj/1", e);
  ASSERT_OK(d);
  EXPECT_EQ(d->version, 3);
  EXPECT_EQ(AsChars(d->body), "payload");
  auto empty =
      DecodeEnvelope(kSpec, "x", EncodeEnvelope(kSpec, 2, "x", ByteView()));
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->body.empty());
}

// A body framed in place is byte for byte the envelope EncodeEnvelope makes
// of it, and whatever the buffer held in the frame before is overwritten.
TEST(Envelope, SealingInPlaceGivesTheEncodedBytes) {
  for (std::string_view body : {"", "p", "payload of some length"}) {
    Bytes object(kEnvelopeHeaderSize + body.size() + kEnvelopeTrailerSize,
                 0xa5);
    std::copy(body.begin(), body.end(), object.begin() + kEnvelopeHeaderSize);
    SealEnvelope(kSpec, 3, "obj/1", object);
    EXPECT_EQ(object, EncodeEnvelope(kSpec, 3, "obj/1", AsBytes(body)));
    auto d = DecodeEnvelope(kSpec, "obj/1", object);
    ASSERT_OK(d);
    EXPECT_EQ(AsChars(d->body), body);
  }
}

TEST(Envelope, BadMagic) {
  Bytes e = EncodeEnvelope(kSpec, 3, "o", AsBytes("p"));
  e[0] = 'X';
  EXPECT_THAT(DecodeEnvelope(kSpec, "o", e),
              StatusIsWith(StatusCode::kCorruption, "bad magic"));
}

TEST(Envelope, Truncated) {
  Bytes e = EncodeEnvelope(kSpec, 3, "o", AsBytes("payload"));
  for (size_t n = 0; n < e.size(); ++n) {
    EXPECT_THAT(DecodeEnvelope(kSpec, "o", ByteView(e).first(n)),
                StatusIs(StatusCode::kCorruption))
        << n;
  }
}

TEST(Envelope, LengthPastTheEndOrOverTheLimit) {
  Bytes e = EncodeEnvelope(kSpec, 3, "o", AsBytes("payload"));
  EncodeFixed64(e.data() + 8, 1ull << 62);
  EXPECT_THAT(DecodeEnvelope(kSpec, "o", e),
              StatusIsWith(StatusCode::kCorruption, "body length"));
  Bytes big = EncodeEnvelope(kSpec, 3, "o", Bytes(2000, 1));
  EXPECT_THAT(DecodeEnvelope(kSpec, "o", big),
              StatusIsWith(StatusCode::kCorruption, "body length"));
}

TEST(Envelope, EveryFlippedBitIsDetected) {
  Bytes e = EncodeEnvelope(kSpec, 3, "o", AsBytes("some payload bytes"));
  for (size_t i = 0; i < e.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes c = e;
      c[i] ^= static_cast<uint8_t>(1 << bit);
      Result<DecodedEnvelope> d = DecodeEnvelope(kSpec, "o", c);
      ASSERT_FALSE(d.ok()) << "byte " << i << " bit " << bit;
      EXPECT_NE(d.status().message().find("test object o"), std::string::npos);
    }
  }
}

TEST(Envelope, MisplacedObjectFailsItsChecksum) {
  Bytes e = EncodeEnvelope(kSpec, 3, "vm/a/recipe", AsBytes("p"));
  EXPECT_THAT(DecodeEnvelope(kSpec, "vm/b/recipe", e),
              StatusIsWith(StatusCode::kCorruption, "checksum mismatch"));
}

TEST(Envelope, UnknownVersionIsNotSupported) {
  // Versions outside [2, 3] with a valid checksum: a newer or older writer.
  for (uint16_t v : {1, 4, 65535}) {
    Bytes e = EncodeEnvelope(kSpec, v, "o", AsBytes("p"));
    EXPECT_THAT(DecodeEnvelope(kSpec, "o", e),
                StatusIsWith(StatusCode::kNotSupported, "format version"));
  }
}

TEST(Envelope, NonZeroFlagsAreRejected) {
  Bytes e = EncodeEnvelope(kSpec, 3, "o", AsBytes("p"));
  EncodeFixed16(e.data() + 6, 1);
  size_t covered = e.size() - 8;
  EncodeFixed64(e.data() + covered,
                Checksum64(ByteView(e).first(covered), IdentitySeed("o")));
  EXPECT_THAT(DecodeEnvelope(kSpec, "o", e),
              StatusIsWith(StatusCode::kCorruption, "flags"));
}

}  // namespace
}  // namespace vcsnap
