// Store benchmarks (not tests): codec table per group size, Put and
// sequential Get throughput over real content (this machine's shared
// libraries, cut into ~4 KiB chunks). Results: docs/benchmarks/store.md.
#include <benchmark/benchmark.h>

#include "backend/mem_backend.h"
#include "store/compressor.h"
#include "store/group.h"
#include "store/store_testing.h"
#include "store/vm_store.h"

namespace vcsnap {
namespace {

constexpr size_t kDataBytes = 64u << 20;

const std::vector<Bytes>& Chunks() {
  static const std::vector<Bytes> chunks =
      testing::CutChunks(testing::RealContent(kDataBytes), 4096);
  return chunks;
}

// Groups of `g` consecutive chunks: raw payloads and lengths.
struct Groups {
  std::vector<Bytes> raw;
  std::vector<std::vector<uint32_t>> lens;
  size_t bytes = 0;
};
Groups MakeGroups(size_t g) {
  Groups out;
  const auto& chunks = Chunks();
  for (size_t i = 0; i < chunks.size(); i += g) {
    Bytes raw;
    std::vector<uint32_t> lens;
    for (size_t j = i; j < std::min(chunks.size(), i + g); ++j) {
      raw.insert(raw.end(), chunks[j].begin(), chunks[j].end());
      lens.push_back(static_cast<uint32_t>(chunks[j].size()));
    }
    out.bytes += raw.size();
    out.raw.push_back(std::move(raw));
    out.lens.push_back(std::move(lens));
  }
  return out;
}

// Args: codec (0 none, 1 lz4, 2 zstd), level, group chunks.
void BM_GroupEncode(benchmark::State& state) {
  const auto kind = static_cast<CompressionKind>(state.range(0));
  const int level = static_cast<int>(state.range(1));
  Groups groups = MakeGroups(static_cast<size_t>(state.range(2)));
  const std::string block = "vm/b/store/c0001/g00000001/b000000";
  Bytes scratch;
  size_t stored = 0;
  for (auto _ : state) {
    stored = 0;
    for (size_t i = 0; i < groups.raw.size(); ++i) {
      Bytes g =
          EncodeGroup(kind, level, 1, i * 1000, groups.lens[i], groups.raw[i],
                      GroupPlace{"b", 1, 1, block, 0}, &scratch);
      stored += g.size();
      benchmark::DoNotOptimize(g.data());
    }
  }
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * groups.bytes));
  state.counters["stored_pct"] =
      100.0 * static_cast<double>(stored) / static_cast<double>(groups.bytes);
}

void BM_GroupDecode(benchmark::State& state) {
  const auto kind = static_cast<CompressionKind>(state.range(0));
  const int level = static_cast<int>(state.range(1));
  Groups groups = MakeGroups(static_cast<size_t>(state.range(2)));
  const std::string block = "vm/b/store/c0001/g00000001/b000000";
  const GroupPlace place{"b", 1, 1, block, 0};
  Bytes scratch;
  std::vector<Bytes> encoded;
  for (size_t i = 0; i < groups.raw.size(); ++i) {
    encoded.push_back(EncodeGroup(kind, level, 1, i * 1000, groups.lens[i],
                                  groups.raw[i], place, &scratch));
  }
  for (auto _ : state) {
    for (const Bytes& g : encoded) {
      auto d = DecodeGroup(g, place, GroupLimits{});
      if (!d.ok()) state.SkipWithError(d.status().ToString().c_str());
      benchmark::DoNotOptimize((*d)->data.get());
    }
  }
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * groups.bytes));
}

RepoConfig BenchConfig(CompressionKind kind, int level, uint32_t group) {
  RepoConfig c = RepoConfig::NewDefault();
  c.compression = kind;
  c.compression_level = static_cast<int8_t>(level);
  c.group_chunks = group;
  return c;
}

void BM_Put(benchmark::State& state) {
  const auto kind = static_cast<CompressionKind>(state.range(0));
  const RepoConfig config = BenchConfig(kind, static_cast<int>(state.range(1)),
                                        static_cast<uint32_t>(state.range(2)));
  size_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    MemBackend mem;
    auto s = VmStore::Open(&mem, "bench", config);
    state.ResumeTiming();
    for (const Bytes& c : Chunks()) {
      if (!(*s)->Put(c).ok()) state.SkipWithError("put");
      bytes += c.size();
    }
    if (!(*s)->Flush().ok()) state.SkipWithError("flush");
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_GetSequential(benchmark::State& state) {
  const auto kind = static_cast<CompressionKind>(state.range(0));
  const RepoConfig config = BenchConfig(kind, static_cast<int>(state.range(1)),
                                        static_cast<uint32_t>(state.range(2)));
  MemBackend mem;
  std::vector<ChunkRef> refs;
  {
    auto s = VmStore::Open(&mem, "bench", config);
    for (const Bytes& c : Chunks()) refs.push_back(*(*s)->Put(c));
    if (!(*s)->Flush().ok()) state.SkipWithError("flush");
  }
  size_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto s = VmStore::Open(&mem, "bench", config);  // cold cache
    state.ResumeTiming();
    for (const ChunkRef& r : refs) {
      Result<Bytes> got = (*s)->Get(r);
      if (!got.ok()) state.SkipWithError(got.status().ToString().c_str());
      bytes += got->size();
      benchmark::DoNotOptimize(got->data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void CodecArgs(benchmark::internal::Benchmark* b) {
  for (int group : {64, 256, 1024}) {
    b->Args({0, 0, group});
    b->Args({1, 0, group});
    b->Args({2, 1, group});
    b->Args({2, 3, group});
  }
  b->Args({2, -1, 256});  // zstd --fast=1
  b->ArgNames({"codec", "level", "group"})->Unit(benchmark::kMillisecond);
}

void StoreArgs(benchmark::internal::Benchmark* b) {
  b->Args({1, 0, 256});
  b->Args({2, 1, 256});
  b->Args({2, 3, 256});
  b->Args({2, -1, 256});
  b->Args({1, 0, 1024});
  b->Args({2, 1, 1024});
  b->ArgNames({"codec", "level", "group"})->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_GroupEncode)->Apply(CodecArgs);
BENCHMARK(BM_GroupDecode)->Apply(CodecArgs);
BENCHMARK(BM_Put)->Apply(StoreArgs);
BENCHMARK(BM_GetSequential)->Apply(StoreArgs);

}  // namespace
}  // namespace vcsnap

BENCHMARK_MAIN();
