// PDS index benchmarks (not tests): lookups per second of the in-process
// PdsTable and of the low-memory PdsFileIndex (sorted parts merged against a
// sorted batch), hit and miss, plus the table's memory per entry. The keys
// are SHA-256 digests (of counters: a fingerprint is a SHA-256 digest, so
// these have exactly the distribution real chunk fingerprints have).
// Results: docs/benchmarks/macro.md (P7 and the PDS section).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>

#include "backend/mem_backend.h"
#include "chunk/fingerprint.h"
#include "pds/pds_table.h"

namespace vcsnap {
namespace {

Fingerprint FpOf(uint64_t i) {
  uint8_t b[8];
  std::memcpy(b, &i, 8);
  return Sha256(ByteView(b, 8));
}

// n sorted entries (fingerprints of 0..n-1) at made-up PDS offsets.
std::vector<PdsIndexEntry> SortedEntries(size_t n) {
  std::vector<PdsIndexEntry> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i].fp = FpOf(i);
    v[i].size = 4096;
  }
  std::sort(v.begin(), v.end(),
            [](const auto& a, const auto& b) { return a.fp < b.fp; });
  uint64_t off = 0;
  for (auto& e : v) {
    e.offset = off;
    off += e.size;
  }
  return v;
}

// Queries: `hit` picks stored fingerprints (random order), otherwise
// fingerprints of counters >= n (absent).
std::vector<Fingerprint> Queries(size_t n, size_t count, bool hit) {
  std::mt19937_64 rng(42);
  std::vector<Fingerprint> q(count);
  for (size_t i = 0; i < count; ++i) {
    q[i] = hit ? FpOf(rng() % n) : FpOf(n + i);
  }
  return q;
}

const PdsTable& Table(size_t n) {
  static size_t built_n = 0;
  static std::unique_ptr<PdsTable> table;
  if (built_n != n) {
    auto t = PdsTable::FromSorted(1, SortedEntries(n));
    if (!t.ok()) std::abort();
    table = std::move(t).value();
    built_n = n;
  }
  return *table;
}

// Args: entries, hit (1) or miss (0). One Lookup call per batch of 512
// (about one dirty segment's unmatched chunks).
void BM_PdsTableLookup(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const bool hit = state.range(1) != 0;
  const PdsTable& table = Table(n);
  const std::vector<Fingerprint> q = Queries(n, 1 << 16, hit);
  std::vector<std::optional<PdsRef>> out;
  size_t found = 0;
  for (auto _ : state) {
    found = 0;
    for (size_t i = 0; i < q.size(); i += 512) {
      table.Lookup(std::span<const Fingerprint>(q.data() + i, 512), &out);
      for (const auto& r : out) found += r.has_value();
    }
    benchmark::DoNotOptimize(found);
  }
  if (found != (hit ? q.size() : 0)) state.SkipWithError("wrong lookups");
  state.SetItemsProcessed(state.iterations() * q.size());
  state.counters["bytes_per_entry"] =
      static_cast<double>(table.memory_bytes()) / static_cast<double>(n);
}
BENCHMARK(BM_PdsTableLookup)
    ->Args({1 << 20, 1})
    ->Args({1 << 20, 0})
    ->Args({4 << 20, 1})
    ->Args({4 << 20, 0})
    ->Unit(benchmark::kMillisecond);

// Single-key Find (no batch vector).
void BM_PdsTableFind(benchmark::State& state) {
  const size_t n = 1 << 20;
  const PdsTable& table = Table(n);
  const std::vector<Fingerprint> q = Queries(n, 1 << 16, true);
  size_t found = 0;
  for (auto _ : state) {
    found = 0;
    for (const auto& fp : q) found += table.Find(fp).has_value();
    benchmark::DoNotOptimize(found);
  }
  if (found != q.size()) state.SkipWithError("wrong lookups");
  state.SetItemsProcessed(state.iterations() * q.size());
}
BENCHMARK(BM_PdsTableFind)->Unit(benchmark::kMillisecond);

// Low-memory mode over an in-memory backend (so this measures the merge and
// part decoding, not a disk). Args: batch size, hit share in percent.
void BM_PdsFileIndexLookup(benchmark::State& state) {
  const size_t n = 1 << 20;
  const size_t batch = static_cast<size_t>(state.range(0));
  const int hit_pct = static_cast<int>(state.range(1));
  static MemBackend* backend = nullptr;
  if (backend == nullptr) {
    backend = new MemBackend();
    if (!WritePdsIndex(*backend, 1, SortedEntries(n)).ok()) std::abort();
  }
  auto idx = PdsFileIndex::Open(backend, 1, 4);
  if (!idx.ok()) std::abort();
  std::mt19937_64 rng(7);
  std::vector<Fingerprint> q(1 << 16);
  size_t want = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    const bool h = static_cast<int>(rng() % 100) < hit_pct;
    q[i] = h ? FpOf(rng() % n) : FpOf(n + i);
    want += h;
  }
  std::vector<std::optional<PdsRef>> out;
  size_t found = 0;
  for (auto _ : state) {
    found = 0;
    for (size_t i = 0; i + batch <= q.size(); i += batch) {
      (*idx)->Lookup(std::span<const Fingerprint>(q.data() + i, batch), &out);
      for (const auto& r : out) found += r.has_value();
    }
    benchmark::DoNotOptimize(found);
  }
  if (found != want) state.SkipWithError("wrong lookups");
  state.SetItemsProcessed(state.iterations() * (q.size() / batch) * batch);
}
BENCHMARK(BM_PdsFileIndexLookup)
    ->Args({512, 10})
    ->Args({8192, 10})
    ->Args({65536, 10})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vcsnap

BENCHMARK_MAIN();
