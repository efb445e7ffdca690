// File: testing/small_repo.h
//
// A repository config scaled down for tests: 64 KiB segments, 256 B / 1 KiB /
// 4 KiB chunks, 16-chunk groups, 1 MiB objects, 2 MiB containers -- so that
// a few hundred KiB of image exercise every layer (many segments, groups,
// blocks and containers).

#ifndef VCSNAP_TESTING_SMALL_REPO_H_
#define VCSNAP_TESTING_SMALL_REPO_H_

#include "format/repo_config.h"

namespace vcsnap::testing {

inline constexpr uint32_t kSmallSegment = 64 << 10;

inline RepoConfig SmallRepoConfig() {
  RepoConfig c = RepoConfig::NewDefault();
  c.segment_size = kSmallSegment;
  c.chunk_min = 256;
  c.chunk_avg = 1024;
  c.chunk_max = 4096;
  c.group_chunks = 16;
  c.max_object_size = 1 << 20;
  c.container_size = 2 << 20;
  return c;
}

}  // namespace vcsnap::testing

#endif  // VCSNAP_TESTING_SMALL_REPO_H_
