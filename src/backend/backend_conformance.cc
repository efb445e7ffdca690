// The Backend conformance suite (see backend_conformance.h).

#include "backend/backend_conformance.h"

#include <atomic>
#include <thread>
#include <vector>

#include "testing/status_matchers.h"

namespace vcsnap::testing {
namespace {

std::string Str(const Bytes& b) { return std::string(AsChars(b)); }

TEST_P(BackendConformance, PutThenGetReturnsTheBytes) {
  ASSERT_OK(b().Put("a/b/obj", AsBytes("hello")));
  Result<Bytes> got = b().Get("a/b/obj");
  ASSERT_OK(got);
  EXPECT_EQ(Str(*got), "hello");
}

TEST_P(BackendConformance, PutReplacesWholeObject) {
  ASSERT_OK(b().Put("obj", AsBytes("a much longer first version")));
  ASSERT_OK(b().Put("obj", AsBytes("short")));
  EXPECT_EQ(Str(*b().Get("obj")), "short");
}

// GetInto through one buffer: each object whole, whatever the buffer held
// (longer, shorter, nothing); a missing object is NotFound.
TEST_P(BackendConformance, GetIntoReusesTheBufferAndReturnsEachObjectWhole) {
  ASSERT_OK(b().Put("long", AsBytes("a much longer object")));
  ASSERT_OK(b().Put("short", AsBytes("tiny")));
  ASSERT_OK(b().Put("empty", ByteView()));
  Bytes buf = ToBytes("stale bytes left in the buffer from earlier");
  for (const char* name : {"short", "long", "empty", "long", "short"}) {
    SCOPED_TRACE(name);
    ASSERT_OK(b().GetInto(name, &buf));
    EXPECT_EQ(buf, *b().Get(name));
  }
  EXPECT_THAT(b().GetInto("nope", &buf),
              StatusIsWith(StatusCode::kNotFound, "nope"));
}

TEST_P(BackendConformance, EmptyObjectExists) {
  ASSERT_OK(b().Put("empty", ByteView()));
  Result<ObjectInfo> info = b().Stat("empty");
  ASSERT_OK(info);
  EXPECT_EQ(info->size, 0u);
  EXPECT_TRUE(b().Get("empty")->empty());
}

TEST_P(BackendConformance, MissingObjectsAreNotFoundForEveryCall) {
  EXPECT_THAT(b().Get("nope"), StatusIsWith(StatusCode::kNotFound, "nope"));
  EXPECT_THAT(b().Read("nope", 0, 1),
              StatusIsWith(StatusCode::kNotFound, "nope"));
  EXPECT_THAT(b().Stat("nope"), StatusIsWith(StatusCode::kNotFound, "nope"));
  EXPECT_THAT(b().Delete("nope"), StatusIsWith(StatusCode::kNotFound, "nope"));
  EXPECT_THAT(b().Sync("nope"), StatusIsWith(StatusCode::kNotFound, "nope"));
}

TEST_P(BackendConformance, CreateIsExclusive) {
  ASSERT_OK(b().Create("lease", AsBytes("first")));
  EXPECT_THAT(b().Create("lease", AsBytes("second")),
              StatusIsWith(StatusCode::kAlreadyExists, "lease"));
  EXPECT_EQ(Str(*b().Get("lease")), "first");
  ASSERT_OK(b().Delete("lease"));
  EXPECT_OK(b().Create("lease", AsBytes("third")));
}

TEST_P(BackendConformance, ConcurrentCreatesHaveExactlyOneWinner) {
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Status s = b().Create("race", AsBytes(std::to_string(i)));
      if (s.ok())
        winners++;
      else
        EXPECT_THAT(s, StatusIs(StatusCode::kAlreadyExists));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST_P(BackendConformance, ReadRangeIsCutAtTheEnd) {
  ASSERT_OK(b().Put("r", AsBytes("0123456789")));
  EXPECT_EQ(Str(*b().Read("r", 2, 3)), "234");
  EXPECT_EQ(Str(*b().Read("r", 8, 100)), "89");
  EXPECT_EQ(Str(*b().Read("r", 0, 10)), "0123456789");
  EXPECT_TRUE(b().Read("r", 10, 5)->empty());
  EXPECT_TRUE(b().Read("r", 1000, 5)->empty());
  EXPECT_TRUE(b().Read("r", 3, 0)->empty());
}

TEST_P(BackendConformance, AppendCreatesThenExtends) {
  ASSERT_OK(b().Append("log", AsBytes("ab")));
  ASSERT_OK(b().Append("log", AsBytes("cd")));
  ASSERT_OK(b().Append("log", ByteView()));
  ASSERT_OK(b().Sync("log"));
  EXPECT_EQ(Str(*b().Get("log")), "abcd");
  EXPECT_EQ(b().Stat("log")->size, 4u);
  ASSERT_OK(b().Put("log", AsBytes("x")));
  ASSERT_OK(b().Append("log", AsBytes("y")));
  EXPECT_EQ(Str(*b().Get("log")), "xy");
}

TEST_P(BackendConformance, DeleteRemoves) {
  ASSERT_OK(b().Put("d/x", AsBytes("1")));
  ASSERT_OK(b().Delete("d/x"));
  EXPECT_THAT(b().Get("d/x"), StatusIs(StatusCode::kNotFound));
  EXPECT_TRUE(b().List("d/")->empty());
}

TEST_P(BackendConformance, ListIsSortedAndFilteredByPrefix) {
  for (const char* n :
       {"vm/b/c2", "vm/a/c1", "vm/a/c0", "vm/ab", "pds/g1", "config"}) {
    ASSERT_OK(b().Put(n, AsBytes(n)));
  }
  auto names = [&](std::string_view prefix) {
    std::vector<std::string> out;
    for (const ObjectInfo& o : *b().List(prefix)) out.push_back(o.name);
    return out;
  };
  EXPECT_EQ(names(""),
            (std::vector<std::string>{"config", "pds/g1", "vm/a/c0", "vm/a/c1",
                                      "vm/ab", "vm/b/c2"}));
  EXPECT_EQ(names("vm/a"),
            (std::vector<std::string>{"vm/a/c0", "vm/a/c1", "vm/ab"}));
  EXPECT_EQ(names("vm/a/"), (std::vector<std::string>{"vm/a/c0", "vm/a/c1"}));
  EXPECT_EQ(names("vm/a/c1"), (std::vector<std::string>{"vm/a/c1"}));
  EXPECT_TRUE(names("zzz").empty());
  EXPECT_TRUE(names("vm/c/").empty());
  EXPECT_EQ(b().List("vm/b/")->at(0).size, 7u);
}

TEST_P(BackendConformance, InvalidNamesAreRejectedByEveryCall) {
  for (std::string bad :
       {std::string(""), std::string("/a"), std::string("a/"),
        std::string("a//b"), std::string(".."), std::string("a/../b"),
        std::string(".hidden"), std::string("sp ace"), std::string("star*"),
        std::string(256, 'x')}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(b().Put(bad, AsBytes("x")),
                StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(b().Create(bad, AsBytes("x")),
                StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(b().Append(bad, AsBytes("x")),
                StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(b().Get(bad), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(b().Read(bad, 0, 1), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(b().Stat(bad), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(b().Delete(bad), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(b().Sync(bad), StatusIs(StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(b().List("../"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_TRUE(b().List("")->empty());
}

TEST_P(BackendConformance, ObjectSizeLimitIsEnforcedWithoutEffect) {
  const uint64_t limit = 1 << 20;
  backend_ = GetParam().make(limit);
  EXPECT_EQ(b().max_object_size(), limit);
  Bytes exact(limit, 7);
  ASSERT_OK(b().Put("full", exact));
  Bytes over(limit + 1, 7);
  EXPECT_THAT(b().Put("big", over),
              StatusIsWith(StatusCode::kInvalidArgument, "limit"));
  EXPECT_THAT(b().Create("big", over), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(b().Stat("big"), StatusIs(StatusCode::kNotFound));
  ASSERT_OK(b().Append("grow", Bytes(limit - 1, 1)));
  EXPECT_THAT(b().Append("grow", AsBytes("ab")),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(b().Stat("grow")->size, limit - 1);
  EXPECT_THAT(b().Append("fresh", over),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(b().Stat("fresh"), StatusIs(StatusCode::kNotFound));
}

TEST_P(BackendConformance, LargeObjectRoundTrips) {
  Bytes big(5 << 20);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<uint8_t>(i * 131 + (i >> 13));
  ASSERT_OK(b().Put("big", big));
  EXPECT_TRUE(*b().Get("big") == big);
  Result<Bytes> mid = b().Read("big", 3 << 20, 4096);
  ASSERT_OK(mid);
  EXPECT_TRUE(std::equal(mid->begin(), mid->end(), big.begin() + (3 << 20)));
}

TEST_P(BackendConformance, ConcurrentWritersOfDistinctObjects) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string name = "t" + std::to_string(t) + "/o" + std::to_string(i);
        EXPECT_OK(b().Put(name, AsBytes(name)));
        EXPECT_OK(b().Append("t" + std::to_string(t) + "/log", AsBytes("x")));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(b().List("")->size(), 4u * 51u);
  EXPECT_EQ(b().Stat("t3/log")->size, 50u);
}

TEST_P(BackendConformance, ReadersSeeOldOrNewObjectNeverAMix) {
  const size_t n = 256 << 10;
  ASSERT_OK(b().Put("flip", Bytes(n, 'A')));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 40; ++i) {
      EXPECT_OK(b().Put("flip", Bytes(n, i % 2 ? 'B' : 'A')));
    }
    stop = true;
  });
  int reads = 0;
  while (!stop || reads < 5) {
    Result<Bytes> got = b().Get("flip");
    ASSERT_OK(got);
    ASSERT_EQ(got->size(), n);
    uint8_t first = (*got)[0];
    ASSERT_TRUE(std::all_of(got->begin(), got->end(),
                            [&](uint8_t c) { return c == first; }));
    ++reads;
  }
  writer.join();
}

}  // namespace
}  // namespace vcsnap::testing
