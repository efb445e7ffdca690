// Serving a snapshot: SnapshotReader's random access and zero ranges, snapshot
// pins against forget, and the nbdkit plugin end to end (a real nbdkit, read
// with libnbd).

#include "serve/serve.h"

#include <libnbd.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "backup/backup.h"
#include "backup/snapshot_reader.h"
#include "gc/forget.h"
#include "recipe/names.h"
#include "recipe/pin.h"
#include "store/vm_store.h"
#include "testing/qemu.h"
#include "testing/small_repo.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

constexpr uint32_t kSeg = ::vcsnap::testing::kSmallSegment;

// Text-like data with zero runs and whole zero segments: 12 segments, the
// last one short.
Bytes MakeImage(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes img(11 * kSeg + 12345);
  for (size_t i = 0; i < img.size(); i += 8) {
    const uint64_t w = rng();
    std::memcpy(img.data() + i, &w, std::min<size_t>(8, img.size() - i));
    img[i] &= 0x3f;  // compressible
  }
  std::memset(img.data() + 2 * kSeg, 0, kSeg);        // a zero segment
  std::memset(img.data() + 5 * kSeg + 100, 0, 9000);  // zero run in a segment
  std::memset(img.data() + 7 * kSeg, 0, 3 * kSeg + 17);
  return img;
}

// Flips `mask` into one byte of every data block of web1's store (at
// size / divisor); returns how many blocks were damaged.
int DamageDataBlocks(Backend& b, size_t divisor, uint8_t mask) {
  int n = 0;
  for (const ObjectInfo& o : *b.List(VmPrefix("web1") + "store/")) {
    const size_t slash = o.name.rfind('/');
    if (o.name.compare(slash + 1, 1, "b") != 0 || o.size < 1000) continue;
    Bytes data = *b.Get(o.name);
    data[data.size() / divisor] ^= mask;
    if (!b.Delete(o.name).ok() || !b.Create(o.name, data).ok()) return -1;
    ++n;
  }
  return n;
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::vcsnap::testing::NewTempDir("serve");
    repo_path_ = dir_ + "/repo";
    repo_ = std::move(
        *Repository::Init(repo_path_, ::vcsnap::testing::SmallRepoConfig()));
  }

  void BackupImage(const Bytes& img) {
    const std::string path = dir_ + "/disk.img";
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(img.data()),
               static_cast<std::streamsize>(img.size()));
    BackupOptions o;
    o.vm = "web1";
    o.image_path = path;
    o.threads = 2;
    ASSERT_OK(RunBackup(*repo_, o).status());
  }

  std::unique_ptr<SnapshotReader> Reader(const std::string& snapshot,
                                         size_t cache = 8) {
    SnapshotReaderOptions o;
    o.vm = "web1";
    o.snapshot = snapshot;
    o.verify = true;
    o.cache_segments = cache;
    auto r = SnapshotReader::Open(*repo_, o);
    EXPECT_OK(r.status());
    return r.ok() ? std::move(*r) : nullptr;
  }

  Result<ForgetResult> Forget(const std::string& snapshot) {
    ForgetOptions o;
    o.vm = "web1";
    o.snapshots = {snapshot};
    return RunForget(*repo_, o);
  }

  std::string dir_, repo_path_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(ServeTest, ReadAtReturnsTheImageForAnyRangeAndCacheSize) {
  const Bytes img = MakeImage(1);
  BackupImage(img);
  for (size_t cache : {size_t{1}, size_t{3}, size_t{16}}) {
    auto r = Reader("latest", cache);
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(r->image_size(), img.size());
    std::mt19937_64 rng(cache);
    for (int i = 0; i < 300; ++i) {
      const uint64_t off = rng() % img.size();
      const size_t n = rng() % std::min<uint64_t>(img.size() - off, 3 * kSeg);
      Bytes out(n, 0xa5);
      ASSERT_OK(r->ReadAt(off, out));
      ASSERT_TRUE(std::equal(out.begin(), out.end(), img.begin() + off))
          << "cache " << cache << " offset " << off << " length " << n;
    }
    Bytes whole(img.size());
    ASSERT_OK(r->ReadAt(0, whole));
    EXPECT_EQ(whole, img);
    Bytes past(2);
    EXPECT_THAT(r->ReadAt(img.size() - 1, past),
                StatusIsWith(StatusCode::kInvalidArgument, "past the end"));
    EXPECT_GT(r->chunks_verified(), 0u);
  }
}

TEST_F(ServeTest, ConcurrentReadsThroughASmallCacheAreExact) {
  const Bytes img = MakeImage(9);
  BackupImage(img);
  auto r = Reader("latest", 2);
  ASSERT_NE(r, nullptr);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      Bytes out;
      for (int i = 0; i < 200; ++i) {
        const uint64_t off = rng() % img.size();
        out.resize(rng() % std::min<uint64_t>(img.size() - off, 2 * kSeg));
        if (!r->ReadAt(off, out).ok() ||
            !std::equal(out.begin(), out.end(), img.begin() + off)) {
          ++bad;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(ServeTest, ZeroRangesAreExactlyTheZeroChunksAndSegments) {
  const Bytes img = MakeImage(2);
  BackupImage(img);
  auto r = Reader("1");
  ASSERT_NE(r, nullptr);
  std::vector<SegmentRange> from_recipe, from_data;
  Bytes buf;
  for (uint64_t i = 0; i < r->segment_count(); ++i) {
    ASSERT_OK(r->ZeroRanges(i, &from_recipe));
    ASSERT_OK(r->ReadSegment(i, &buf, &from_data));
    EXPECT_EQ(from_recipe.size(), from_data.size()) << "segment " << i;
    for (size_t k = 0; k < from_recipe.size() && k < from_data.size(); ++k) {
      EXPECT_EQ(from_recipe[k].from, from_data[k].from);
      EXPECT_EQ(from_recipe[k].to, from_data[k].to);
    }
    // Every byte reported zero is zero; ranges are merged and ascending.
    uint32_t last = 0;
    for (const SegmentRange& z : from_recipe) {
      EXPECT_LT(z.from, z.to);
      EXPECT_TRUE(z.from > last || (z.from == 0 && last == 0));
      last = z.to;
      for (uint32_t b = z.from; b < z.to; ++b) {
        ASSERT_EQ(img[i * kSeg + b], 0) << "segment " << i << " byte " << b;
      }
    }
  }
  EXPECT_TRUE(r->IsZeroSegment(2));
  ASSERT_OK(r->ZeroRanges(2, &from_recipe));
  ASSERT_EQ(from_recipe.size(), 1u);
  EXPECT_EQ(from_recipe[0].to, kSeg);
  // The 9000-byte run inside segment 5 is mostly zero chunks.
  ASSERT_OK(r->ZeroRanges(5, &from_recipe));
  uint64_t zero5 = 0;
  for (const SegmentRange& z : from_recipe) zero5 += z.to - z.from;
  EXPECT_GT(zero5, 8000u);
}

TEST_F(ServeTest, ADamagedChunkIsAnErrorNamingThePlaceNeverWrongBytes) {
  const Bytes img = MakeImage(3);
  BackupImage(img);
  const int flipped = DamageDataBlocks(repo_->backend(), 2, 0x40);
  ASSERT_GT(flipped, 0);
  auto r = Reader("latest", 2);
  ASSERT_NE(r, nullptr);
  Bytes whole(img.size());
  Status s = r->ReadAt(0, whole);
  EXPECT_THAT(s, StatusIsWith(StatusCode::kCorruption, "VM web1 snapshot 1"));
  EXPECT_NE(s.ToString().find("segment"), std::string::npos) << s.ToString();
}

TEST_F(ServeTest, APinnedSnapshotIsNeitherForgottenNorPickedByRetention) {
  BackupImage(MakeImage(4));
  BackupImage(MakeImage(5));
  BackupImage(MakeImage(6));
  uint32_t id = 0;
  auto pin = PinSnapshot(&repo_->backend(), "web1", "1", "serve",
                         std::chrono::milliseconds(0), &id);
  ASSERT_OK(pin.status());
  EXPECT_EQ(id, 1u);
  EXPECT_THAT(Forget("1"), StatusIsWith(StatusCode::kBusy, "pinned"));
  ForgetOptions keep;
  keep.vm = "web1";
  keep.retention.keep_last = 1;
  auto r = RunForget(*repo_, keep);
  ASSERT_OK(r.status());
  EXPECT_EQ(r->forgotten, std::vector<uint32_t>{2});
  EXPECT_EQ(r->kept_pinned, std::vector<uint32_t>{1});
  // The pinned snapshot still reads whole.
  auto reader = Reader("1");
  ASSERT_NE(reader, nullptr);
  Bytes whole(reader->image_size());
  EXPECT_OK(reader->ReadAt(0, whole));
  EXPECT_EQ(whole, MakeImage(4));
  ASSERT_OK((*pin)->Release());
  EXPECT_OK(Forget("1").status());
  // A snapshot that does not exist cannot be pinned.
  EXPECT_THAT(PinSnapshot(&repo_->backend(), "web1", "1", "serve",
                          std::chrono::milliseconds(0), &id)
                  .status(),
              StatusIs(StatusCode::kNotFound));
}

TEST_F(ServeTest, PinningWaitsForTheLeaseAndStalePinsAreIgnored) {
  BackupImage(MakeImage(7));
  BackupImage(MakeImage(8));
  Backend* b = &repo_->backend();
  // A held lease: pinning fails after `wait`, and succeeds once it goes.
  auto lease = Lease::Acquire(b, "web1", "backup");
  ASSERT_OK(lease.status());
  uint32_t id = 0;
  EXPECT_THAT(PinSnapshot(b, "web1", "latest", "serve",
                          std::chrono::milliseconds(600), &id)
                  .status(),
              StatusIs(StatusCode::kBusy));
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    (void)(*lease)->Release();
  });
  auto pin =
      PinSnapshot(b, "web1", "latest", "serve", std::chrono::seconds(10), &id);
  release.join();
  ASSERT_OK(pin.status());
  EXPECT_EQ(id, 2u);
  // A pin left by a process that died on this host holds nothing: a child
  // process writes a real pin and exits without releasing it.
  pid_t writer = ::fork();
  if (writer == 0) {
    uint32_t ignored = 0;
    auto p =
        PinSnapshot(b, "web1", "1", "serve", std::chrono::seconds(5), &ignored);
    if (p.ok()) (void)p->release();  // leave it behind, as SIGKILL would
    _exit(p.ok() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(writer, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(ListPins(*b, "web1")->size(), 2u);
  ForgetOptions dry;
  dry.vm = "web1";
  dry.snapshots = {"1"};
  dry.dry_run = true;
  EXPECT_OK(RunForget(*repo_, dry).status());  // ignored, but not removed
  ASSERT_EQ(ListPins(*b, "web1")->size(), 2u);
  EXPECT_OK(Forget("1").status());  // the stale pin is ignored and removed
  auto left = ListPins(*b, "web1");
  ASSERT_OK(left.status());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].snapshot, 2u);
  // Unpin without force keeps a live pin; with force removes it.
  EXPECT_TRUE(Unpin(*b, "web1", false)->empty());
  EXPECT_EQ(Unpin(*b, "web1", true)->size(), 1u);
  EXPECT_TRUE(ListPins(*b, "web1")->empty());
}

TEST_F(ServeTest, ADamagedPinCountsAsHeldAndAForeignNameIsCorruption) {
  BackupImage(MakeImage(15));
  BackupImage(MakeImage(16));
  Backend& b = repo_->backend();
  uint32_t id = 0;
  auto pin =
      PinSnapshot(&b, "web1", "1", "serve", std::chrono::milliseconds(0), &id);
  ASSERT_OK(pin.status());
  const std::string object = (*ListPins(b, "web1"))[0].object;
  Bytes raw = *b.Get(object);
  raw[raw.size() - 3] ^= 0x10;  // inside the JSON body: checksum mismatch
  ASSERT_OK(b.Delete(object));
  ASSERT_OK(b.Create(object, raw));
  auto pins = ListPins(b, "web1");
  ASSERT_OK(pins.status());
  ASSERT_EQ(pins->size(), 1u);
  EXPECT_FALSE((*pins)[0].readable);
  EXPECT_EQ((*pins)[0].snapshot, 1u);
  EXPECT_THAT(Forget("1"), StatusIsWith(StatusCode::kBusy, "damaged pin"));
  EXPECT_TRUE(Unpin(b, "web1", false)->empty());  // not provably stale
  EXPECT_EQ(Unpin(b, "web1", true)->size(), 1u);
  (void)(*pin)->Release();  // its record is gone: nothing to delete
  EXPECT_OK(Forget("1").status());
  ASSERT_OK(b.Create(PinPrefix("web1") + "x7", Bytes{1, 2, 3}));
  EXPECT_THAT(ListPins(b, "web1").status(),
              StatusIsWith(StatusCode::kCorruption, "is not a pin"));
  EXPECT_THAT(Forget("2"), StatusIs(StatusCode::kCorruption));
}

// --- nbdkit end to end ---------------------------------------------------

class NbdkitServeTest : public ServeTest {
 protected:
  void TearDown() override { Stop(SIGKILL); }

  // Starts nbdkit with the plugin on a Unix socket and waits until a client
  // connects. Under ASan the plugin needs the runtime preloaded.
  void Start(const std::string& snapshot_id) {
    ServeOptions o;
    o.repo = repo_path_;
    o.vm = "web1";
    o.snapshot = static_cast<uint32_t>(std::stoul(snapshot_id));
    o.socket = dir_ + "/nbd.sock";
    o.plugin = VCSNAP_PLUGIN_PATH;
    o.verify = true;
    o.wait_seconds = 5;
    auto argv = NbdkitCommand(o);
    ASSERT_OK(argv.status());
#ifdef VCSNAP_ASAN_RUNTIME
    ::setenv("LD_PRELOAD", VCSNAP_ASAN_RUNTIME, 1);
    ::setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
#endif
    pid_ = ::vcsnap::testing::Spawn(*argv, dir_ + "/nbdkit.log");
#ifdef VCSNAP_ASAN_RUNTIME
    ::unsetenv("LD_PRELOAD");
#endif
    ASSERT_GT(pid_, 0);
    uri_ = ServeUri(o);
    for (int i = 0; i < 200; ++i) {
      nbd_ = nbd_create();
      if (nbd_connect_uri(nbd_, uri_.c_str()) == 0) return;
      nbd_close(nbd_);
      nbd_ = nullptr;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "nbdkit did not serve " << uri_ << ": "
           << ::vcsnap::testing::LogText(dir_ + "/nbdkit.log");
  }

  // SIGTERM, and true once nbdkit has exited 0 within 20 s. Under ASan,
  // nbdkit (with the ASan runtime preloaded) hangs in libp11-kit's exit
  // handler, waiting for glibc's setlocale lock, after any client has
  // connected -- after our plugin's cleanup ran. There it counts as a clean
  // stop once the pin is released; then it is killed.
  bool StopCleanly() {
    if (nbd_ != nullptr) {
      nbd_shutdown(nbd_, 0);
      nbd_close(nbd_);
      nbd_ = nullptr;
    }
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
      }
#ifdef VCSNAP_ASAN_RUNTIME
      auto pins = ListPins(repo_->backend(), "web1");
      if (i >= 20 && pins.ok() && pins->empty()) {
        Stop(SIGKILL);
        return true;
      }
#endif
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Stops nbdkit with `sig` and reaps it; its exit status.
  int Stop(int sig) {
    if (nbd_ != nullptr) {
      nbd_shutdown(nbd_, 0);
      nbd_close(nbd_);
      nbd_ = nullptr;
    }
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  static int CollectExtent(void* user, const char* metacontext, uint64_t,
                           uint32_t* entries, size_t n, int*) {
    if (std::strcmp(metacontext, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0) {
      return 0;
    }
    auto* out = static_cast<std::vector<std::pair<uint32_t, uint32_t>>*>(user);
    for (size_t i = 0; i + 1 < n; i += 2) {
      out->push_back({entries[i], entries[i + 1]});
    }
    return 0;
  }

  pid_t pid_ = -1;
  std::string uri_;
  struct nbd_handle* nbd_ = nullptr;
};

TEST_F(NbdkitServeTest, AServedSnapshotReadsByteExactWithHolesAndIsPinned) {
  const Bytes d0 = MakeImage(10), d1 = MakeImage(11);
  BackupImage(d0);
  BackupImage(d1);
  ASSERT_NO_FATAL_FAILURE(Start("1"));
  EXPECT_EQ(nbd_get_size(nbd_), static_cast<int64_t>(d0.size()));
  EXPECT_EQ(nbd_is_read_only(nbd_), 1);
  // Whole image in 200 KiB reads (not segment-aligned).
  Bytes got(d0.size());
  for (uint64_t off = 0; off < got.size(); off += 200 << 10) {
    const size_t n = std::min<uint64_t>(200 << 10, got.size() - off);
    ASSERT_EQ(nbd_pread(nbd_, got.data() + off, n, off, 0), 0)
        << nbd_get_error();
  }
  EXPECT_EQ(got, d0);
  // Block status: holes exactly where zero chunks are, and they read zero.
  std::vector<std::pair<uint32_t, uint32_t>> ext;
  nbd_shutdown(nbd_, 0);
  nbd_close(nbd_);
  nbd_ = nbd_create();
  ASSERT_EQ(nbd_add_meta_context(nbd_, LIBNBD_CONTEXT_BASE_ALLOCATION), 0);
  ASSERT_EQ(nbd_connect_uri(nbd_, uri_.c_str()), 0) << nbd_get_error();
  uint64_t at = 0, holes = 0;
  while (at < d0.size()) {
    ext.clear();
    const uint64_t len = std::min<uint64_t>(d0.size() - at, 4 * kSeg);
    ASSERT_EQ(nbd_block_status(nbd_, len, at,
                               (nbd_extent_callback){.callback = CollectExtent,
                                                     .user_data = &ext,
                                                     .free = nullptr},
                               0),
              0)
        << nbd_get_error();
    ASSERT_FALSE(ext.empty());
    for (auto [length, flags] : ext) {
      const uint64_t n = std::min<uint64_t>(length, d0.size() - at);
      if (flags & LIBNBD_STATE_ZERO) {
        EXPECT_TRUE(flags & LIBNBD_STATE_HOLE);
        // Whole 64 KiB blocks (or up to the image's end): qemu-img convert
        // would zero the data next to an unaligned hole, and small holes
        // cost clients a round trip each.
        EXPECT_EQ(at % 65536, 0u) << at;
        EXPECT_TRUE((at + n) % 65536 == 0 || at + n == d0.size()) << at + n;
        for (uint64_t b = at; b < at + n; ++b) ASSERT_EQ(d0[b], 0) << b;
        holes += n;
      }
      at += n;
    }
  }
  EXPECT_GE(holes, 4u * kSeg);  // segment 2 and segments 7..9 at least
  EXPECT_EQ(at, d0.size());
  // While served, snapshot 1 is pinned: forget refuses it.
  auto pins = ListPins(repo_->backend(), "web1");
  ASSERT_OK(pins.status());
  ASSERT_EQ(pins->size(), 1u);
  EXPECT_EQ((*pins)[0].snapshot, 1u);
  EXPECT_THAT(Forget("1"), StatusIsWith(StatusCode::kBusy, "serve"));
  // A clean stop releases the pin; then forget works.
  EXPECT_TRUE(StopCleanly())
      << ::vcsnap::testing::LogText(dir_ + "/nbdkit.log");
  EXPECT_TRUE(ListPins(repo_->backend(), "web1")->empty());
  EXPECT_OK(Forget("1").status());
}

TEST_F(NbdkitServeTest, ClientsThatLeaveMidTransferDoNotStopTheExport) {
  const Bytes img = MakeImage(17);
  BackupImage(img);
  ASSERT_NO_FATAL_FAILURE(Start("1"));
  nbd_close(nbd_);
  nbd_ = nullptr;
  std::vector<Bytes> bufs(32, Bytes(64 << 10));
  for (int round = 0; round < 20; ++round) {
    struct nbd_handle* h = nbd_create();
    ASSERT_EQ(nbd_connect_uri(h, uri_.c_str()), 0) << nbd_get_error();
    for (size_t i = 0; i < bufs.size(); ++i) {
      const uint64_t off = (i * 7 + round) * (32 << 10) % (img.size() - 65536);
      nbd_aio_pread(h, bufs[i].data(), bufs[i].size(), off, NBD_NULL_COMPLETION,
                    0);
    }
    nbd_close(h);  // drops the socket with the requests in flight
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  nbd_ = nbd_create();
  ASSERT_EQ(nbd_connect_uri(nbd_, uri_.c_str()), 0)
      << ::vcsnap::testing::LogText(dir_ + "/nbdkit.log");
  Bytes got(img.size());
  ASSERT_EQ(nbd_pread(nbd_, got.data(), got.size(), 0, 0), 0)
      << nbd_get_error();
  EXPECT_EQ(got, img);
  EXPECT_TRUE(StopCleanly());
}

TEST_F(NbdkitServeTest, AKilledServerLeavesAStalePinThatForgetIgnores) {
  BackupImage(MakeImage(12));
  BackupImage(MakeImage(13));
  ASSERT_NO_FATAL_FAILURE(Start("1"));
  Stop(SIGKILL);
  ASSERT_EQ(ListPins(repo_->backend(), "web1")->size(), 1u);
  EXPECT_OK(Forget("1").status());
  EXPECT_TRUE(ListPins(repo_->backend(), "web1")->empty());
}

TEST_F(NbdkitServeTest, ADamagedChunkIsAnIoErrorAndTheLogSaysWhere) {
  const Bytes img = MakeImage(14);
  BackupImage(img);
  ASSERT_GT(DamageDataBlocks(repo_->backend(), 3, 0x01), 0);
  ASSERT_NO_FATAL_FAILURE(Start("1"));
  Bytes got(img.size());
  EXPECT_EQ(nbd_pread(nbd_, got.data(), got.size(), 0, 0), -1);
  EXPECT_EQ(nbd_get_errno(), EIO);
  EXPECT_TRUE(StopCleanly());
  const std::string log = ::vcsnap::testing::LogText(dir_ + "/nbdkit.log");
  EXPECT_NE(log.find("VM web1 snapshot 1 segment"), std::string::npos) << log;
}

TEST(ServeCommand, OptionsAreCheckedAndTheUriNamesTheSocket) {
  ServeOptions o;
  o.repo = "/r";
  o.vm = "v";
  o.snapshot = 3;
  o.plugin = VCSNAP_PLUGIN_PATH;
  EXPECT_THAT(NbdkitCommand(o).status(),
              StatusIsWith(StatusCode::kInvalidArgument, "--socket"));
  o.socket = "/tmp/x.sock";
  o.port = 10809;
  EXPECT_THAT(NbdkitCommand(o).status(),
              StatusIs(StatusCode::kInvalidArgument));
  o.port = 0;
  o.cache_segments = 0;
  EXPECT_THAT(NbdkitCommand(o).status(),
              StatusIsWith(StatusCode::kInvalidArgument, "--cache-segments"));
  o.cache_segments = 32;
  auto argv = NbdkitCommand(o);
  ASSERT_OK(argv.status());
  EXPECT_NE(std::find(argv->begin(), argv->end(), "--readonly"), argv->end());
  EXPECT_NE(std::find(argv->begin(), argv->end(), "snapshot=3"), argv->end());
  EXPECT_EQ(ServeUri(o), "nbd+unix:///?socket=/tmp/x.sock");
  o.socket.clear();
  o.port = 10809;
  o.address = "127.0.0.1";
  EXPECT_EQ(ServeUri(o), "nbd://127.0.0.1:10809/");
  o.plugin = "/nonexistent/plugin.so";
  EXPECT_THAT(NbdkitCommand(o).status(), StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace vcsnap
