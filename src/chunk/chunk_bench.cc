// File: chunk/chunk_bench.cc
//
// Chunking and fingerprinting benchmarks over REAL content (this machine's
// libraries), plus dedup ratios on a stand-in fleet (corpus.h). Results and
// the reasoning drawn from them: docs/benchmarks/chunking.md.
//
//   build/chunk/src/chunk/chunk_bench --benchmark_repetitions=3
//
// P1: BM_GearSplit (chunking alone, 1 core).
// P2: BM_ChunkHashVsSha256 (chunk + SHA-256 vs plain SHA-256 of the same
//     segments, interleaved in one run; counter ratio_to_sha).

#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <map>
#include <set>

#include "chunk/chunker.h"
#include "chunk/corpus.h"
#include "chunk/fingerprint.h"
#include "chunk/gear_table.h"
#include "chunk/parallel.h"
#include "chunk/segment.h"

namespace vcsnap {
namespace {

constexpr size_t kSegment = 2 << 20;

const Bytes& RealContent() {
  static const Bytes* data = new Bytes(
      corpus::ConcatFiles("/usr/lib/x86_64-linux-gnu", size_t{64} << 20));
  return *data;
}

std::unique_ptr<Chunker> MakeFromArgs(const benchmark::State& state) {
  if (state.range(1) == 0) return std::move(*MakeFixedChunker(state.range(0)));
  GearParams p;
  p.min = state.range(0);
  p.avg = state.range(1);
  p.max = state.range(2);
  p.zero_run_min = static_cast<uint32_t>(state.range(3));
  return std::move(*MakeGearChunker(p));
}

// Args: min, avg, max, zero-run threshold (0: off); avg 0: fixed chunks of
// min bytes.
void GearArgs(benchmark::internal::Benchmark* b) {
  for (int64_t min : {1024, 2048, 3072, 3584}) {
    for (int64_t max : {16384, 32768, 65536}) b->Args({min, 4096, max, 128});
  }
}
void FixedArgs(benchmark::internal::Benchmark* b) {
  b->Args({4096, 0, 0, 0})->Args({65536, 0, 0, 0});
}

void BM_GearSplit(benchmark::State& state) {
  const Bytes& data = RealContent();
  auto chunker = MakeFromArgs(state);
  std::vector<uint32_t> ends;
  size_t chunks = 0;
  for (auto _ : state) {
    chunks = 0;
    for (size_t off = 0; off < data.size(); off += kSegment) {
      ends.clear();
      chunker->Split(
          ByteView(data).subspan(off, std::min(kSegment, data.size() - off)),
          &ends);
      chunks += ends.size();
    }
    benchmark::DoNotOptimize(chunks);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * data.size());
  state.counters["mean_chunk"] = double(data.size()) / chunks;
}
BENCHMARK(BM_GearSplit)
    ->Apply(GearArgs)
    ->Args({3072, 4096, 65536, 512})
    ->Args({3072, 4096, 65536, 0})
    ->Apply(FixedArgs);

void BM_Sha256Whole(benchmark::State& state) {
  const Bytes& data = RealContent();
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(data));
  state.SetBytesProcessed(int64_t(state.iterations()) * data.size());
}
BENCHMARK(BM_Sha256Whole);

// Per-chunk hashing cost: 4 KiB pieces through the reused context (Sha256)
// or one-shot EVP_Digest(EVP_sha256()).
template <Fingerprint (*kHash)(ByteView)>
void BM_Sha256Pieces(benchmark::State& state) {
  const Bytes& data = RealContent();
  const size_t piece = state.range(0);
  for (auto _ : state) {
    for (size_t off = 0; off + piece <= data.size(); off += piece) {
      benchmark::DoNotOptimize(kHash(ByteView(data).subspan(off, piece)));
    }
  }
  state.SetBytesProcessed(int64_t(state.iterations()) *
                          (data.size() / piece * piece));
}
BENCHMARK(BM_Sha256Pieces<Sha256>)->Arg(4096)->Arg(8192);
BENCHMARK(BM_Sha256Pieces<Sha256OneShot>)->Arg(4096)->Arg(8192);

// P2 in one run: each iteration times plain SHA-256 of every segment and
// ChunkSegment() of the same segments, back to back, so that both see the
// same machine state. ratio_to_sha = (chunk+hash speed) / (SHA-256 speed).
// Timed in thread CPU time, so that preemption on the shared machine does
// not land on one side only.
double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

void BM_ChunkHashVsSha256(benchmark::State& state) {
  const Bytes& data = RealContent();
  auto chunker = MakeFromArgs(state);
  std::vector<ChunkInfo> chunks;
  double sha_s = 0, chunk_s = 0, zero_bytes = 0;
  for (auto _ : state) {
    for (size_t off = 0; off < data.size(); off += kSegment) {
      ByteView seg =
          ByteView(data).subspan(off, std::min(kSegment, data.size() - off));
      const double t0 = ThreadSeconds();
      benchmark::DoNotOptimize(Sha256(seg));
      const double t1 = ThreadSeconds();
      ChunkSegment(*chunker, seg, &chunks);
      benchmark::DoNotOptimize(chunks.data());
      const double t2 = ThreadSeconds();
      for (const ChunkInfo& c : chunks) zero_bytes += c.zero ? c.length : 0;
      sha_s += t1 - t0;
      chunk_s += t2 - t1;
    }
  }
  const double bytes = double(state.iterations()) * data.size();
  state.SetBytesProcessed(int64_t(bytes) * 2);
  state.counters["sha_GBps"] = bytes / sha_s / 1e9;
  state.counters["chunk_hash_GBps"] = bytes / chunk_s / 1e9;
  state.counters["ratio_to_sha"] = sha_s / chunk_s;
  // Zero chunks are not hashed: the share of the input they make up.
  state.counters["zero_pct"] = 100.0 * zero_bytes / bytes;
}
BENCHMARK(BM_ChunkHashVsSha256)
    ->Apply(GearArgs)
    ->Args({3072, 4096, 65536, 512})
    ->Args({3072, 4096, 65536, 0})
    ->Apply(FixedArgs);

// Chunk-size distribution of the default-like parameters on real content.
void BM_ChunkSizes(benchmark::State& state) {
  const Bytes& data = RealContent();
  auto chunker = MakeFromArgs(state);
  std::vector<uint32_t> sizes;
  for (auto _ : state) {
    sizes.clear();
    std::vector<uint32_t> ends;
    for (size_t off = 0; off < data.size(); off += kSegment) {
      ends.clear();
      chunker->Split(
          ByteView(data).subspan(off, std::min(kSegment, data.size() - off)),
          &ends);
      uint32_t start = 0;
      for (uint32_t e : ends) {
        sizes.push_back(e - start);
        start = e;
      }
    }
  }
  std::sort(sizes.begin(), sizes.end());
  auto pct = [&](double p) {
    return double(sizes[size_t(p * (sizes.size() - 1))]);
  };
  state.counters["p10"] = pct(0.10);
  state.counters["p25"] = pct(0.25);
  state.counters["p50"] = pct(0.50);
  state.counters["p75"] = pct(0.75);
  state.counters["p90"] = pct(0.90);
  state.counters["p99"] = pct(0.99);
  state.counters["mean"] = double(data.size()) / sizes.size();
  state.counters["at_max_pct"] =
      100.0 * std::count(sizes.begin(), sizes.end(), uint32_t(state.range(2))) /
      sizes.size();
}
BENCHMARK(BM_ChunkSizes)
    ->Apply(GearArgs)
    ->Args({3072, 4096, 65536, 512})
    ->Args({3072, 4096, 65536, 4096})
    ->Args({3072, 4096, 65536, 0})
    ->Iterations(1);

// Dedup on the stand-in fleet (3 VMs x 4 daily versions x 96 MiB), exact
// global dedup of non-zero chunks (before compression).
void BM_FleetDedup(benchmark::State& state) {
  static std::vector<Bytes>* images = [] {
    auto* v = new std::vector<Bytes>;
    corpus::ForEachFleetImage({}, [&](int, int, ByteView image) {
      v->emplace_back(image.begin(), image.end());
    });
    return v;
  }();
  auto chunker = MakeFromArgs(state);
  uint64_t logical = 0, stored = 0, zero = 0, chunks = 0, total = 0;
  for (auto _ : state) {
    std::set<Fingerprint> seen;
    logical = stored = zero = chunks = total = 0;
    std::vector<ChunkInfo> out;
    for (const Bytes& image : *images) {
      total += image.size();
      for (size_t off = 0; off < image.size(); off += kSegment) {
        ChunkSegment(*chunker,
                     ByteView(image).subspan(
                         off, std::min(kSegment, image.size() - off)),
                     &out);
        for (const ChunkInfo& c : out) {
          if (c.zero) {
            zero += c.length;
            continue;
          }
          logical += c.length;
          ++chunks;
          if (seen.insert(c.fp).second) stored += c.length;
        }
      }
    }
  }
  // image bytes / stored bytes: comparable across chunkers, whose zero
  // chunks (holes, stored as nothing) differ.
  state.counters["space_ratio"] = double(total) / stored;
  state.counters["nonzero_dedup"] = double(logical) / stored;
  state.counters["stored_MiB"] = double(stored) / (1 << 20);
  state.counters["logical_MiB"] = double(logical) / (1 << 20);
  state.counters["zero_MiB"] = double(zero) / (1 << 20);
  state.counters["mean_chunk"] = double(logical) / chunks;
}
BENCHMARK(BM_FleetDedup)
    ->Apply(GearArgs)
    ->Args({3072, 4096, 65536, 512})
    ->Args({3072, 4096, 65536, 4096})
    ->Args({1024, 4096, 16384, 0})
    ->Args({2048, 4096, 32768, 0})
    ->Args({3072, 4096, 65536, 0})
    ->Args({4096, 8192, 65536, 128})
    ->Apply(FixedArgs)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Resynchronisation after a small edit: insert 1, 13 or 200 bytes at three
// places in 2 MiB segments of real content (the segment keeps its size) and
// count the bytes of chunks that are new. A content-defined chunker should
// lose about two chunks per edit whatever its min.
void BM_EditCost(benchmark::State& state) {
  const Bytes& data = RealContent();
  auto chunker = MakeFromArgs(state);
  double new_bytes = 0;
  int edits = 0;
  for (auto _ : state) {
    new_bytes = 0;
    edits = 0;
    for (size_t seg = 0; seg + kSegment <= data.size(); seg += 4 * kSegment) {
      const Bytes before(data.begin() + seg, data.begin() + seg + kSegment);
      std::vector<ChunkInfo> old_chunks, new_chunks;
      ChunkSegment(*chunker, before, &old_chunks);
      std::set<Fingerprint> old;
      for (const ChunkInfo& c : old_chunks) old.insert(c.fp);
      for (size_t at : {1000u, 300000u, 1000000u}) {
        for (size_t n : {1u, 13u, 200u}) {
          Bytes after = before;
          after.insert(after.begin() + at, n, 0x5c);
          after.resize(before.size());
          ChunkSegment(*chunker, after, &new_chunks);
          for (const ChunkInfo& c : new_chunks) {
            if (!c.zero && !old.count(c.fp)) new_bytes += c.length;
          }
          ++edits;
        }
      }
    }
  }
  state.counters["new_bytes_per_edit"] = new_bytes / edits;
}
BENCHMARK(BM_EditCost)->Apply(GearArgs)->Apply(FixedArgs)->Iterations(1);

void BM_IsAllZero(benchmark::State& state) {
  const Bytes zeros(kSegment, 0);
  for (auto _ : state) benchmark::DoNotOptimize(IsAllZero(zeros));
  state.SetBytesProcessed(int64_t(state.iterations()) * zeros.size());
}
BENCHMARK(BM_IsAllZero);

// The whole pipeline on all cores: segments copied in, results drained.
void BM_Pipeline(benchmark::State& state) {
  const Bytes& data = RealContent();
  auto chunker = std::move(*MakeGearChunker(3072, 4096, 65536));
  for (auto _ : state) {
    SegmentPipeline pipe(*chunker, state.range(0), 2 * state.range(0) + 2);
    SegmentResult r;
    uint64_t i = 0;
    for (size_t off = 0; off < data.size(); off += kSegment, ++i) {
      if (pipe.in_flight() == pipe.max_in_flight()) (void)pipe.Next(&r);
      (void)pipe.Submit(
          i, Bytes(data.begin() + off,
                   data.begin() + std::min(off + kSegment, data.size())));
    }
    pipe.Close();
    while (true) {
      auto got = pipe.Next(&r);
      if (!got.ok() || !*got) break;
    }
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * data.size());
}
BENCHMARK(BM_Pipeline)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Cut-point kernels, scanning with a mask that never matches: the per-byte
// cost of the rolling hash alone. KernelPtr4 is the loop chunker.cc uses.
size_t KernelIndex(const uint8_t* p, size_t n, uint64_t m) {
  uint64_t h = 0;
  for (uint32_t e = 1; e <= n; ++e) {  // 32-bit end offsets, p[e - 1]
    h = (h << 1) + kGearTable[p[e - 1]];
    if ((h & m) == 0) return e;
  }
  return n;
}
size_t KernelPtr4(const uint8_t* p, size_t n, uint64_t m) {
  uint64_t h = 0;
  const uint8_t* q = p;
  for (; q + 4 <= p + n; q += 4) {
    h = (h << 1) + kGearTable[q[0]];
    if ((h & m) == 0) return q - p;
    h = (h << 1) + kGearTable[q[1]];
    if ((h & m) == 0) return q - p + 1;
    h = (h << 1) + kGearTable[q[2]];
    if ((h & m) == 0) return q - p + 2;
    h = (h << 1) + kGearTable[q[3]];
    if ((h & m) == 0) return q - p + 3;
  }
  return n;
}
// FastCDC 2020 "rolling two bytes each time" (shifted table and mask).
size_t Kernel2Roll(const uint8_t* p, size_t n, uint64_t m) {
  static const auto ls = [] {
    std::array<uint64_t, 256> t;
    for (int i = 0; i < 256; ++i) t[i] = kGearTable[i] << 1;
    return t;
  }();
  uint64_t h = 0;
  for (size_t e = 0; e + 1 < n; e += 2) {
    h = (h << 2) + ls[p[e]];
    if ((h & (m << 1)) == 0) return e;
    h += kGearTable[p[e + 1]];
    if ((h & m) == 0) return e + 1;
  }
  return n;
}
// Two bytes per step with the dependency chain split.
size_t Kernel2Split(const uint8_t* p, size_t n, uint64_t m) {
  uint64_t h = 0;
  for (size_t e = 0; e + 1 < n; e += 2) {
    const uint64_t ga = kGearTable[p[e]], gb = kGearTable[p[e + 1]];
    const uint64_t h1 = (h << 1) + ga, h2 = (h << 2) + ((ga << 1) + gb);
    if ((h1 & m) == 0) return e;
    if ((h2 & m) == 0) return e + 1;
    h = h2;
  }
  return n;
}
// The same with the compiler kept from re-associating the sum back into one
// chain (the empty asm makes t opaque), unrolled to four bytes.
size_t Kernel2SplitOpaque(const uint8_t* p, size_t n, uint64_t m) {
  uint64_t h = 0;
  const uint8_t* q = p;
  for (; q + 4 <= p + n; q += 4) {
    const uint64_t ga = kGearTable[q[0]], gb = kGearTable[q[1]];
    uint64_t t = (ga << 1) + gb;
    asm("" : "+r"(t));
    const uint64_t h1 = (h << 1) + ga, h2 = (h << 2) + t;
    if ((h1 & m) == 0) return q - p;
    if ((h2 & m) == 0) return q - p + 1;
    const uint64_t gc = kGearTable[q[2]], gd = kGearTable[q[3]];
    uint64_t u = (gc << 1) + gd;
    asm("" : "+r"(u));
    const uint64_t h3 = (h2 << 1) + gc, h4 = (h2 << 2) + u;
    if ((h3 & m) == 0) return q - p + 2;
    if ((h4 & m) == 0) return q - p + 3;
    h = h4;
  }
  return n;
}
template <size_t (*kKernel)(const uint8_t*, size_t, uint64_t)>
void BM_Kernel(benchmark::State& state) {
  const Bytes& data = RealContent();
  const uint64_t never = ~uint64_t{0} << 4;  // 60 bits: practically never
  for (auto _ : state) {
    benchmark::DoNotOptimize(kKernel(data.data(), data.size(), never));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * data.size());
}
BENCHMARK(BM_Kernel<KernelIndex>);
BENCHMARK(BM_Kernel<KernelPtr4>);
BENCHMARK(BM_Kernel<Kernel2Roll>);
BENCHMARK(BM_Kernel<Kernel2Split>);
BENCHMARK(BM_Kernel<Kernel2SplitOpaque>);

}  // namespace
}  // namespace vcsnap

BENCHMARK_MAIN();
