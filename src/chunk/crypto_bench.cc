// Kernels of encrypted repositories: AES-256-GCM sealing and opening of a
// chunk group (what every stored group costs on top of compression), and
// HMAC-SHA256 fingerprints against plain SHA-256 over the same 4 KiB pieces
// in the same iteration (what keyed fingerprints cost on the backup path).
// Content: this machine's own binaries (/usr/bin), not random bytes.
#include <benchmark/benchmark.h>

#include <ctime>

#include "chunk/corpus.h"
#include "chunk/fingerprint.h"
#include "format/crypto.h"

namespace vcsnap {
namespace {

const Bytes& Content() {
  static const Bytes data = corpus::ConcatFiles("/usr/bin", 8u << 20);
  return data;
}

Key256 BenchKey() {
  Key256 k;
  RandomFill(k);
  return k;
}

void BM_SealGroup(benchmark::State& state) {
  const Key256 key = BenchKey();
  const ByteView group = ByteView(Content()).first(state.range(0));
  Bytes out(group.size() + kSealOverhead);
  const Bytes aad(40, 1);
  for (auto _ : state) {
    Seal(key, aad, group, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * group.size());
}
BENCHMARK(BM_SealGroup)->Arg(256 << 10)->Arg(1 << 20);

void BM_OpenGroup(benchmark::State& state) {
  const Key256 key = BenchKey();
  const ByteView group = ByteView(Content()).first(state.range(0));
  const Bytes aad(40, 1);
  const Bytes sealed = Seal(key, aad, group);
  Bytes out(group.size());
  for (auto _ : state) {
    if (!Open(key, aad, sealed, out.data(), "bench").ok()) {
      state.SkipWithError("open failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * group.size());
}
BENCHMARK(BM_OpenGroup)->Arg(256 << 10)->Arg(1 << 20);

double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// SHA-256 of each piece as vcsnap fingerprints unencrypted chunks (Sha256),
// then HMAC-SHA256 of the same pieces (KeyedFingerprint), timed in thread
// CPU time within one iteration. ratio = keyed speed / plain speed.
void BM_KeyedVsPlainFingerprint(benchmark::State& state) {
  const Key256 key = BenchKey();
  const Bytes& data = Content();
  const size_t piece = state.range(0);
  double plain_s = 0, keyed_s = 0;
  for (auto _ : state) {
    const double t0 = ThreadSeconds();
    for (size_t off = 0; off + piece <= data.size(); off += piece) {
      benchmark::DoNotOptimize(Sha256(ByteView(data).subspan(off, piece)));
    }
    const double t1 = ThreadSeconds();
    for (size_t off = 0; off + piece <= data.size(); off += piece) {
      benchmark::DoNotOptimize(
          KeyedFingerprint(key, ByteView(data).subspan(off, piece)));
    }
    const double t2 = ThreadSeconds();
    plain_s += t1 - t0;
    keyed_s += t2 - t1;
  }
  const double bytes =
      double(state.iterations()) * double(data.size() / piece * piece);
  state.counters["sha256_GBps"] = bytes / plain_s / 1e9;
  state.counters["hmac_GBps"] = bytes / keyed_s / 1e9;
  state.counters["ratio"] = plain_s / keyed_s;
}
BENCHMARK(BM_KeyedVsPlainFingerprint)->Arg(4096)->Arg(8192);

}  // namespace
}  // namespace vcsnap

BENCHMARK_MAIN();
