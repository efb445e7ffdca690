// File: chunk/corpus.cc

#include "chunk/corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "chunk/gear_table.h"

namespace vcsnap::corpus {
namespace {

namespace fs = std::filesystem;

std::vector<Bytes> LoadFiles(const std::string& dir, size_t bytes,
                             size_t max_file) {
  std::vector<fs::path> paths;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(
           dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
      paths.push_back(it->path());
    }
  }
  std::sort(paths.begin(), paths.end());
  std::vector<Bytes> files;
  size_t total = 0;
  for (const fs::path& p : paths) {
    if (total >= bytes) break;
    std::ifstream in(p, std::ios::binary);
    Bytes b((std::istreambuf_iterator<char>(in)), {});
    if (b.empty() || b.size() > max_file) continue;
    total += b.size();
    files.push_back(std::move(b));
  }
  return files;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() { return SplitMix64(&s_); }
  size_t Below(size_t n) { return n == 0 ? 0 : Next() % n; }

 private:
  uint64_t s_;
};

struct Extent {
  size_t offset, length, capacity;
};

constexpr size_t kBlock = 4096;
size_t RoundUp(size_t v) { return (v + kBlock - 1) / kBlock * kBlock; }

class Vm {
 public:
  Vm(size_t size, uint64_t seed) : image_(size, 0), rng_(seed) {}

  // Writes a file at the free pointer with some slack; false when full.
  bool AddFile(ByteView data) {
    const size_t cap = RoundUp(data.size() + 512) + kBlock * rng_.Below(4);
    if (free_ + cap > image_.size() * 3 / 4) return false;  // keep a free tail
    std::copy(data.begin(), data.end(), image_.begin() + free_);
    files_.push_back({free_, data.size(), cap});
    free_ += cap + kBlock * rng_.Below(8);
    return true;
  }

  // About `fraction` of the data changes.
  void DailyChange(const std::vector<Bytes>& pool, size_t* next_pool,
                   double fraction) {
    const size_t budget = static_cast<size_t>(free_ * fraction);
    size_t changed = 0;
    while (changed < budget && !files_.empty()) {
      Extent& f = files_[rng_.Below(files_.size())];
      switch (rng_.Below(4)) {
        case 0: {  // package update: inserts and deletes shift the content
          for (int k = 0; k < 3; ++k) {
            const size_t at = f.offset + rng_.Below(f.length);
            const size_t n = 1 + rng_.Below(200);
            auto begin = image_.begin();
            if (rng_.Below(2) == 0) {  // insert n bytes, tail moves right
              std::copy_backward(begin + at, begin + f.offset + f.capacity - n,
                                 begin + f.offset + f.capacity);
              for (size_t i = 0; i < n; ++i)
                image_[at + i] = rng_.Next() & 0xff;
            } else {  // delete n bytes, tail moves left
              const size_t end = f.offset + f.capacity;
              if (at + n >= end) break;
              std::copy(begin + at + n, begin + end, begin + at);
            }
          }
          changed += f.length;
          break;
        }
        case 1: {  // database pages: small edits in place
          for (int k = 0; k < 16; ++k) {
            const size_t at = f.offset + rng_.Below(f.length);
            const size_t n =
                std::min(f.offset + f.capacity - at, 8 + rng_.Below(120));
            for (size_t i = 0; i < n; ++i) image_[at + i] = rng_.Next() & 0xff;
            changed += kBlock;
          }
          break;
        }
        case 2: {  // new file (or log growth) written into free space
          if (*next_pool < pool.size() && AddFile(pool[*next_pool])) {
            changed += pool[(*next_pool)++].size();
          } else {
            changed += kBlock;
          }
          break;
        }
        default: {  // a deleted file's blocks are trimmed
          const size_t n = std::min(f.capacity, 64 * kBlock);
          std::fill_n(image_.begin() + f.offset, n, 0);
          std::swap(f, files_.back());
          files_.pop_back();
          changed += n;
          break;
        }
      }
    }
  }

  ByteView image() const { return image_; }

 private:
  Bytes image_;
  Rng rng_;
  std::vector<Extent> files_;
  size_t free_ = 0;
};

}  // namespace

Bytes ConcatFiles(const std::string& dir, size_t bytes) {
  Bytes out;
  for (Bytes& f : LoadFiles(dir, bytes, bytes)) {
    out.insert(out.end(), f.begin(), f.end());
  }
  if (out.size() > bytes) out.resize(bytes);
  return out;
}

void ForEachFleetImage(
    const FleetOptions& options,
    const std::function<void(int vm, int version, ByteView image)>& visit) {
  // Shared "OS" files, then a pool for per-VM files and daily additions.
  std::vector<Bytes> os = LoadFiles("/usr/lib/x86_64-linux-gnu",
                                    options.image_bytes * 2 / 5, 8 << 20);
  std::vector<Bytes> text =
      LoadFiles("/usr/include", options.image_bytes / 5, 8 << 20);
  os.insert(os.end(), text.begin(), text.end());
  std::vector<Bytes> pool = LoadFiles(
      "/usr/bin", options.image_bytes / 8 * (options.vms + 1), 8 << 20);
  std::vector<Bytes> docs = LoadFiles(
      "/usr/share/doc", options.image_bytes / 16 * options.vms, 8 << 20);
  for (size_t i = 0; i < docs.size(); ++i) {
    pool.insert(pool.begin() + std::min(pool.size(), 2 * i + 1),
                std::move(docs[i]));
  }
  size_t next_pool = 0;
  for (int v = 0; v < options.vms; ++v) {
    Rng order(options.seed * 1000 + v);
    std::vector<size_t> idx(os.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    for (size_t i = idx.size(); i > 1; --i) {
      std::swap(idx[i - 1], idx[order.Below(i)]);
    }
    Vm vm(options.image_bytes, options.seed * 7777 + v);
    for (size_t i : idx) {
      if (order.Below(10) != 0) vm.AddFile(os[i]);  // 90 % of the OS files
    }
    const size_t own = options.image_bytes / 8;
    for (size_t added = 0; added < own && next_pool < pool.size();) {
      if (!vm.AddFile(pool[next_pool])) break;
      added += pool[next_pool++].size();
    }
    for (int version = 0; version < options.versions; ++version) {
      if (version > 0) vm.DailyChange(pool, &next_pool, 0.02);
      visit(v, version, vm.image());
    }
  }
}

}  // namespace vcsnap::corpus
