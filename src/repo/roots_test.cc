// Roots kept twice (repo/roots.h): reads fall back to the good copy, and
// neither a crash during a create or a delete nor a damaged copy ever gives
// a wrong root or brings a deleted one back.

#include "repo/roots.h"

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "testing/forwarding_backend.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

const Bytes kGood = {'g', 'o', 'o', 'd'};

// Good bytes are "good"; anything else is damaged.
Status Verify(ByteView b) {
  if (Bytes(b.begin(), b.end()) == kGood) return Status::Ok();
  return Status::Corruption("keys/a: not good");
}

TEST(Roots, CreateWritesBothReadFallsBackToTheGoodCopy) {
  MemBackend mem;
  ASSERT_OK(CreateRoot(mem, "keys/a", kGood));
  EXPECT_EQ(*mem.Get("keys/a"), kGood);
  EXPECT_EQ(*mem.Get("ditto/keys/a"), kGood);
  EXPECT_THAT(CreateRoot(mem, "keys/a", Bytes{'x'}),
              StatusIs(StatusCode::kAlreadyExists));
  EXPECT_EQ(*ReadRoot(mem, "keys/a", Verify), kGood);
  for (const char* hit : {"keys/a", "ditto/keys/a"}) {
    SCOPED_TRACE(hit);
    ASSERT_OK(mem.Put(hit, Bytes{'b', 'a', 'd'}));
    EXPECT_EQ(*ReadRoot(mem, "keys/a", Verify), kGood);
    ASSERT_OK(mem.Delete(hit));
    EXPECT_EQ(*ReadRoot(mem, "keys/a", Verify), kGood);
    ASSERT_OK(mem.Put(hit, kGood));
  }
  ASSERT_OK(mem.Put("keys/a", Bytes{'b'}));
  ASSERT_OK(mem.Put("ditto/keys/a", Bytes{'b'}));
  EXPECT_THAT(ReadRoot(mem, "keys/a", Verify),
              StatusIsWith(StatusCode::kCorruption, "its copy ditto/keys/a"));
  EXPECT_THAT(ReadRoot(mem, "keys/b", Verify), StatusIs(StatusCode::kNotFound));
  // Another error than damage says the same of both copies.
  EXPECT_THAT(ReadRoot(mem, "keys/a",
                       [](ByteView) { return Status::InvalidArgument("key"); }),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(Roots, AnOldPrimaryWithoutCopyIsNeverGivenADifferentCopy) {
  MemBackend mem;
  ASSERT_OK(mem.Create("keys/a", kGood));
  EXPECT_THAT(CreateRoot(mem, "keys/a", Bytes{'x'}),
              StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(mem.Stat("ditto/keys/a"), StatusIs(StatusCode::kNotFound));
}

// An older vcsnap makes the primary (without a copy) between this create's
// check and its own primary: the copy just made is deleted again.
TEST(Roots, ACopyMadeBesideARacingOldPrimaryIsDeletedAgain) {
  struct Racing : ::vcsnap::testing::ForwardingBackend {
    using ForwardingBackend::ForwardingBackend;
    MemBackend* mem = nullptr;
    Status Create(std::string_view n, ByteView d) override {
      if (n == "ditto/keys/a") (void)mem->Create("keys/a", kGood);
      return ForwardingBackend::Create(n, d);
    }
  };
  MemBackend mem;
  Racing racing(&mem);
  racing.mem = &mem;
  EXPECT_THAT(CreateRoot(racing, "keys/a", Bytes{'x'}),
              StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(mem.Stat("ditto/keys/a"), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(*ReadRoot(mem, "keys/a", Verify), kGood);
}

TEST(Roots, ListAndExistsSeeEitherCopyDeleteRemovesBoth) {
  MemBackend mem;
  ASSERT_OK(CreateRoot(mem, "keys/a", kGood));
  ASSERT_OK(mem.Create("keys/b", kGood));        // primary only (old)
  ASSERT_OK(mem.Create("ditto/keys/c", kGood));  // copy only (primary lost)
  EXPECT_EQ(*ListRoots(mem, "keys/"),
            (std::vector<std::string>{"keys/a", "keys/b", "keys/c"}));
  for (const char* name : {"keys/a", "keys/b", "keys/c"}) {
    EXPECT_TRUE(*RootExists(mem, name)) << name;
    ASSERT_OK(DeleteRoot(mem, name));
    EXPECT_FALSE(*RootExists(mem, name)) << name;
    EXPECT_THAT(DeleteRoot(mem, name), StatusIs(StatusCode::kNotFound));
  }
  EXPECT_TRUE(ListRoots(mem, "keys/")->empty());
}

// A crash at any operation of a create leaves no root or a good one; of a
// delete, the root or nothing -- never a copy without its primary.
TEST(Roots, ACrashAtAnyStepLeavesTheRootWholeOrAbsent) {
  for (bool create : {true, false}) {
    for (uint64_t at = 1; at <= 3; ++at) {
      for (bool apply : {false, true}) {
        SCOPED_TRACE((create ? "create" : "delete") +
                     std::string(", crash at ") + std::to_string(at) +
                     (apply ? " (applied)" : ""));
        MemBackend mem;
        FaultBackend fault(&mem);
        if (!create) {
          ASSERT_OK(CreateRoot(fault, "keys/a", kGood));
        }
        fault.CrashAtNth(at, apply);
        (void)(create ? CreateRoot(fault, "keys/a", kGood)
                      : DeleteRoot(fault, "keys/a"));
        fault.Restart();
        const bool primary = mem.Stat("keys/a").ok();
        const bool copy = mem.Stat("ditto/keys/a").ok();
        if (!create) {
          EXPECT_FALSE(copy && !primary);
        }
        Result<Bytes> read = ReadRoot(mem, "keys/a", Verify);
        if (primary || copy) {
          ASSERT_OK(read);
          EXPECT_EQ(*read, kGood);
        } else {
          EXPECT_THAT(read, StatusIs(StatusCode::kNotFound));
        }
      }
    }
  }
}

TEST(Roots, InspectNamesTheBadCopyAndRepairsItFromTheGoodOne) {
  MemBackend mem;
  ASSERT_OK(CreateRoot(mem, "keys/a", kGood));
  EXPECT_FALSE(InspectRoot(mem, "keys/a", Verify, true)->has_value());
  EXPECT_FALSE(InspectRoot(mem, "keys/none", Verify, true)->has_value());
  struct Case {
    const char* hit;
    bool lose;
    const char* says;
  };
  for (const Case& c :
       {Case{"keys/a", false, "keys/a: not good"},
        Case{"keys/a", true, "keys/a is missing"},
        Case{"ditto/keys/a", false, "the copy ditto/keys/a"},
        Case{"ditto/keys/a", true, "ditto/keys/a is missing"}}) {
    SCOPED_TRACE(c.says);
    if (c.lose) {
      ASSERT_OK(mem.Delete(c.hit));
    } else {
      ASSERT_OK(mem.Put(c.hit, Bytes{'x'}));
    }
    auto dry = InspectRoot(mem, "keys/a", Verify, false);
    ASSERT_OK(dry);
    ASSERT_TRUE(dry->has_value());
    EXPECT_NE((*dry)->problem.find(c.says), std::string::npos)
        << (*dry)->problem;
    EXPECT_TRUE((*dry)->repairable);
    EXPECT_FALSE((*dry)->repaired);
    EXPECT_FALSE(mem.Get(c.hit).ok() && *mem.Get(c.hit) == kGood);
    auto fix = InspectRoot(mem, "keys/a", Verify, true);
    ASSERT_OK(fix);
    EXPECT_TRUE((*fix)->repaired);
    EXPECT_EQ(*mem.Get("keys/a"), kGood);
    EXPECT_EQ(*mem.Get("ditto/keys/a"), kGood);
  }
  // Both damaged: named, not repairable, nothing written.
  ASSERT_OK(mem.Put("keys/a", Bytes{'x'}));
  ASSERT_OK(mem.Put("ditto/keys/a", Bytes{'y'}));
  auto lost = InspectRoot(mem, "keys/a", Verify, true);
  ASSERT_OK(lost);
  EXPECT_FALSE((*lost)->repairable);
  EXPECT_NE((*lost)->Describe().find("no good copy"), std::string::npos);
  EXPECT_EQ(*mem.Get("keys/a"), Bytes{'x'});
  // Two copies that verify but differ: the primary (which readers use) is
  // written over the copy.
  const Bytes good2 = {'g', 'o', 'o', 'd', '2'};
  auto either = [&](ByteView b) {
    const Bytes v(b.begin(), b.end());
    return v == kGood || v == good2 ? Status::Ok() : Status::Corruption("x");
  };
  ASSERT_OK(mem.Put("keys/a", good2));
  ASSERT_OK(mem.Put("ditto/keys/a", kGood));
  auto differ = InspectRoot(mem, "keys/a", either, true);
  ASSERT_OK(differ);
  ASSERT_TRUE(differ->has_value());
  EXPECT_NE((*differ)->problem.find("differs"), std::string::npos);
  EXPECT_EQ(*mem.Get("ditto/keys/a"), good2);
  // A version this vcsnap does not know, in both copies: nothing to judge.
  auto newer = [](ByteView) { return Status::NotSupported("version 9"); };
  EXPECT_FALSE(InspectRoot(mem, "keys/a", newer, true)->has_value());
  EXPECT_EQ(*mem.Get("keys/a"), good2);
}

}  // namespace
}  // namespace vcsnap
