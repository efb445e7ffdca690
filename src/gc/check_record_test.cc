#include "gc/check_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backend/mem_backend.h"
#include "format/envelope.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::testing::HasSubstr;
using ::vcsnap::testing::StatusIsWith;

CheckResult SomeCheck(uint64_t vms, size_t problems, size_t problem_len) {
  CheckResult r;
  r.vms = vms;
  r.snapshots = 2 * vms;
  r.references = 100;
  r.bytes_read = 4096;
  r.pds_bytes_read = 1024;
  r.seconds = 1.5;
  for (size_t i = 0; i < problems; ++i) {
    r.problems.push_back(std::string(problem_len, 'a' + i % 26));
  }
  return r;
}

TEST(CheckRecord, KeepsTheLastCheckAndTheLastReadDataCheck) {
  MemBackend mem;
  auto none = LoadCheckRecords(mem);
  ASSERT_OK(none);
  EXPECT_FALSE(none->last.has_value());
  EXPECT_FALSE(none->last_read_data.has_value());
  CheckRecord structure = MakeCheckRecord(SomeCheck(1, 0, 0), false);
  CheckRecord data = MakeCheckRecord(SomeCheck(2, 1, 10), true);
  CheckRecord again = MakeCheckRecord(SomeCheck(3, 0, 0), false);
  EXPECT_EQ(data.bytes_read, 4096u);  // as check prints it
  EXPECT_EQ(data.problems, 1u);
  ASSERT_OK(SaveCheckRecord(mem, structure));
  auto r = LoadCheckRecords(mem);
  ASSERT_OK(r);
  EXPECT_EQ(r->last, structure);
  EXPECT_FALSE(r->last_read_data.has_value());
  ASSERT_OK(SaveCheckRecord(mem, data));
  ASSERT_OK(SaveCheckRecord(mem, again));
  r = LoadCheckRecords(mem);
  ASSERT_OK(r);
  EXPECT_EQ(r->last, again);
  EXPECT_EQ(r->last_read_data, data);
}

TEST(CheckRecord, KeepsOnlyTheFirstProblemsCut) {
  CheckRecord r = MakeCheckRecord(SomeCheck(1, 25, 1000), true);
  EXPECT_EQ(r.problems, 25u);
  ASSERT_EQ(r.first_problems.size(), kRecordedProblems);
  EXPECT_EQ(r.first_problems[0].size(), kRecordedProblemLen);
  // A cut inside a multi-byte character still stores (replaced).
  r.first_problems[0] = std::string(kRecordedProblemLen - 1, 'x') + "\xc3";
  MemBackend mem;
  ASSERT_OK(SaveCheckRecord(mem, r));
  auto back = LoadCheckRecords(mem);
  ASSERT_OK(back);
  EXPECT_EQ(back->last->first_problems.size(), kRecordedProblems);
}

// Every flipped byte of the object is an error, never another record; a
// damaged object is replaced by the next check.
TEST(CheckRecord, DamageIsAnErrorAndTheNextCheckReplacesIt) {
  MemBackend mem;
  CheckRecord rec = MakeCheckRecord(SomeCheck(4, 2, 50), true);
  ASSERT_OK(SaveCheckRecord(mem, rec));
  Bytes good = *mem.Get(CheckRecordName());
  for (size_t i = 0; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x20;
    ASSERT_OK(mem.Put(CheckRecordName(), bad));
    auto r = LoadCheckRecords(mem);
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_TRUE(r.status().IsUnreadable()) << r.status();
  }
  ASSERT_OK(SaveCheckRecord(mem, rec));
  auto r = LoadCheckRecords(mem);
  ASSERT_OK(r);
  EXPECT_EQ(r->last, rec);
  EXPECT_EQ(r->last_read_data, rec);
}

// A well-sealed object whose JSON is wrong: named, never guessed.
TEST(CheckRecord, WrongFieldsAreCorruption) {
  const EnvelopeSpec spec{{'V', 'C', 'H', 'K'}, "check record", 1, 1, 64 << 10};
  MemBackend mem;
  auto put = [&](const std::string& json) {
    ASSERT_OK(
        mem.Put(CheckRecordName(),
                EncodeEnvelope(spec, 1, CheckRecordName(), AsBytes(json))));
  };
  put("[1]");
  EXPECT_THAT(LoadCheckRecords(mem),
              StatusIsWith(StatusCode::kCorruption, "not a JSON object"));
  put(R"({"last": {"finished": 1}})");
  EXPECT_THAT(LoadCheckRecords(mem),
              StatusIsWith(StatusCode::kCorruption, "'vms'"));
  std::string fields =
      R"("finished":1,"read_data":true,"seconds":1,"vms":1,"snapshots":1,)"
      R"("references":1,"bytes_read":1,"problems":-1,"host":"h",)";
  put(R"({"last": {)" + fields + R"("first_problems":[]}})");
  EXPECT_THAT(LoadCheckRecords(mem),
              StatusIsWith(StatusCode::kCorruption, "'problems'"));
  std::string many = "[";
  for (size_t i = 0; i <= kRecordedProblems; ++i) {
    many += std::string(i ? "," : "") + "\"p\"";
  }
  many += "]";
  std::string ok = fields;
  ok.replace(ok.find("-1"), 2, "1");
  put(R"({"last": {)" + ok + R"("first_problems":)" + many + "}}");
  EXPECT_THAT(LoadCheckRecords(mem),
              StatusIsWith(StatusCode::kCorruption, "'first_problems'"));
  put(R"({"last": {)" + ok + R"("first_problems":["p"]}})");
  auto r = LoadCheckRecords(mem);
  ASSERT_OK(r);
  EXPECT_EQ(r->last->first_problems, std::vector<std::string>{"p"});
}

}  // namespace
}  // namespace vcsnap
