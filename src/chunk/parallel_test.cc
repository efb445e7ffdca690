// File: chunk/parallel_test.cc

#include "chunk/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "chunk/test_data.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;

class SegmentPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = MakeGearChunker(2048, 4096, 16384);
    ASSERT_OK(c);
    chunker_ = std::move(*c);
  }
  // Distinct small segments: sizes vary so that they finish out of order.
  static Bytes SegmentBytes(uint64_t i) {
    return testdata::MixedContent(20000 + (i * 7919) % 150000, 100 + i);
  }
  std::unique_ptr<Chunker> chunker_;
};

TEST_F(SegmentPipelineTest, DeliversInSubmissionOrderWithSerialResults) {
  SegmentPipeline pipe(*chunker_, 3, 4);
  constexpr uint64_t kCount = 40;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kCount; ++i) {
      ASSERT_OK(pipe.Submit(1000 + i, SegmentBytes(i)));
      EXPECT_LE(pipe.in_flight(), 4u);
    }
    pipe.Close();
  });
  uint64_t n = 0;
  SegmentResult r;
  while (true) {
    auto got = pipe.Next(&r);
    ASSERT_OK(got);
    if (!*got) break;
    EXPECT_EQ(r.index, 1000 + n);
    EXPECT_EQ(r.data, SegmentBytes(n));
    std::vector<ChunkInfo> want;
    ChunkSegment(*chunker_, r.data, &want);
    ASSERT_EQ(r.chunks.size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_EQ(r.chunks[k].offset, want[k].offset);
      EXPECT_EQ(r.chunks[k].fp, want[k].fp);
    }
    ++n;
  }
  producer.join();
  EXPECT_EQ(n, kCount);
  // End of stream is sticky.
  auto again = pipe.Next(&r);
  ASSERT_OK(again);
  EXPECT_FALSE(*again);
}

TEST_F(SegmentPipelineTest, SubmitBlocksAtMaxInFlight) {
  SegmentPipeline pipe(*chunker_, 2, 2);
  ASSERT_OK(pipe.Submit(0, SegmentBytes(0)));
  ASSERT_OK(pipe.Submit(1, SegmentBytes(1)));
  std::atomic<bool> third_done{false};
  std::thread producer([&] {
    EXPECT_OK(pipe.Submit(2, SegmentBytes(2)));
    third_done = true;
  });
  // Both segments get processed, but they stay in flight until Next().
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third_done);
  EXPECT_EQ(pipe.in_flight(), 2u);
  SegmentResult r;
  ASSERT_OK(pipe.Next(&r));
  EXPECT_EQ(r.index, 0u);
  producer.join();
  EXPECT_TRUE(third_done);
}

TEST_F(SegmentPipelineTest, SingleThreadSubmitAndDrain) {
  SegmentPipeline pipe(*chunker_, 2, 3);
  uint64_t received = 0;
  SegmentResult r;
  for (uint64_t i = 0; i < 10; ++i) {
    if (pipe.in_flight() == pipe.max_in_flight()) {
      ASSERT_OK(pipe.Next(&r));
      EXPECT_EQ(r.index, received++);
    }
    ASSERT_OK(pipe.Submit(i, SegmentBytes(i)));
  }
  pipe.Close();
  while (true) {
    auto got = pipe.Next(&r);
    ASSERT_OK(got);
    if (!*got) break;
    EXPECT_EQ(r.index, received++);
  }
  EXPECT_EQ(received, 10u);
}

TEST_F(SegmentPipelineTest,
       ProducerFailureReachesConsumerAfterEarlierSegments) {
  SegmentPipeline pipe(*chunker_, 2, 8);
  ASSERT_OK(pipe.Submit(0, SegmentBytes(0)));
  ASSERT_OK(pipe.Submit(1, SegmentBytes(1)));
  pipe.Close(Status::IOError("read image at 4194304: EIO"));
  SegmentResult r;
  ASSERT_OK(pipe.Next(&r));
  ASSERT_OK(pipe.Next(&r));
  EXPECT_EQ(r.index, 1u);
  EXPECT_THAT(pipe.Next(&r), StatusIs(StatusCode::kIOError));
  EXPECT_THAT(pipe.Submit(2, SegmentBytes(2)),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(SegmentPipelineTest, ConsumerStoppingEarlyUnblocksProducer) {
  auto pipe = std::make_unique<SegmentPipeline>(*chunker_, 2, 2);
  Status producer_status;
  std::thread producer([&] {
    for (uint64_t i = 0;; ++i) {
      Status s = pipe->Submit(i, SegmentBytes(i % 5));
      if (!s.ok()) {
        producer_status = s;
        return;
      }
    }
  });
  SegmentResult r;
  ASSERT_OK(pipe->Next(&r));
  pipe->Cancel();  // the consumer gives up
  producer.join();
  EXPECT_THAT(producer_status, StatusIs(StatusCode::kIOError));
  EXPECT_THAT(pipe->Next(&r), StatusIs(StatusCode::kIOError));
  pipe.reset();  // joins the workers with segments still queued
}

TEST_F(SegmentPipelineTest, DestroyWithPendingWorkDoesNotHang) {
  SegmentPipeline pipe(*chunker_, 1, 16);
  for (uint64_t i = 0; i < 16; ++i) ASSERT_OK(pipe.Submit(i, SegmentBytes(i)));
}

TEST_F(SegmentPipelineTest, DefaultsFromHardware) {
  SegmentPipeline pipe(*chunker_, 0, 0);
  EXPECT_GE(pipe.threads(), 1u);
  EXPECT_EQ(pipe.max_in_flight(), 2u * pipe.threads());
  pipe.Close();
  SegmentResult r;
  auto got = pipe.Next(&r);
  ASSERT_OK(got);
  EXPECT_FALSE(*got);
}

}  // namespace
}  // namespace vcsnap
