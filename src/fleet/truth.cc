#include "fleet/truth.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "chunk/chunker.h"
#include "chunk/segment.h"
#include "fleet/image_file.h"
#include "fleet/manifest.h"

namespace vcsnap::fleet {
namespace {

struct Key {  // the first 128 bits of a SHA-256 fingerprint
  uint64_t a, b;
  bool operator==(const Key& o) const { return a == o.a && b == o.b; }
  bool operator<(const Key& o) const {
    return a < o.a || (a == o.a && b < o.b);
  }
};
struct KeyHash {
  size_t operator()(const Key& k) const { return static_cast<size_t>(k.a); }
};
struct Entry {
  uint32_t last_vm;  // the last VM that held the chunk (VMs come in order)
  uint32_t vms;      // popularity: distinct VMs holding it
  uint32_t length;
};

Key KeyOf(const Fingerprint& fp) {
  Key k;
  std::memcpy(&k.a, fp.data(), 8);
  std::memcpy(&k.b, fp.data() + 8, 8);
  return k;
}

class Reader {
 public:
  ~Reader() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Open(const std::string& path) {
    if (fd_ >= 0) ::close(fd_);
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      return Status::IOError("open " + path + ": " + std::strerror(errno));
    }
    return Status::Ok();
  }
  Status Read(uint64_t offset, std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                          static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return Status::Corruption("short read of " + path_ + " at " +
                                  std::to_string(offset + done));
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace

double FitZipf(const std::vector<uint64_t>& popularity_chunks,
               uint32_t min_popularity, uint32_t* points) {
  std::vector<std::pair<double, double>> xy;  // log rank, log popularity
  uint64_t rank = 0;
  for (size_t p = popularity_chunks.size(); p-- > 1;) {
    rank += popularity_chunks[p];
    if (p < min_popularity || popularity_chunks[p] == 0) continue;
    xy.emplace_back(std::log(static_cast<double>(rank)),
                    std::log(static_cast<double>(p)));
  }
  *points = static_cast<uint32_t>(xy.size());
  if (xy.size() < 2) return 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, y] : xy) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double n = static_cast<double>(xy.size());
  const double den = n * sxx - sx * sx;
  if (den == 0) return 0;
  return -(n * sxy - sx * sy) / den;
}

Result<TruthReport> ComputeTruth(const std::string& fleet_dir,
                                 const TruthOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  VCSNAP_ASSIGN_OR_RETURN(FleetManifest m, ReadFleetManifest(fleet_dir));
  if (m.segment_size > (1u << 30)) {
    return Status::InvalidArgument("segment size too large for the chunker");
  }
  VCSNAP_ASSIGN_OR_RETURN(
      std::unique_ptr<Chunker> chunker,
      MakeGearChunker(options.chunk_min, options.chunk_avg, options.chunk_max));
  const uint32_t seg = static_cast<uint32_t>(m.segment_size);

  TruthReport r;
  r.vms = m.vms.size();
  r.segment_size = seg;
  r.chunk_min = options.chunk_min;
  r.chunk_avg = options.chunk_avg;
  r.chunk_max = options.chunk_max;
  std::unordered_map<Key, Entry, KeyHash> index;
  Bytes buf(seg);
  std::vector<ChunkInfo> chunks;
  Reader reader;
  for (uint32_t v = 0; v < m.vms.size(); ++v) {
    const FleetVm& vm = m.vms[v];
    std::vector<std::vector<Key>> parent;  // per segment, sorted
    for (const FleetDay& day : vm.days) {
      const std::string where = vm.name + " day " + std::to_string(day.day);
      if (!day.image_present) {
        return Status::NotFound(where +
                                ": image was removed (--keep-days); the "
                                "ground truth needs every image");
      }
      VCSNAP_RETURN_IF_ERROR(reader.Open(fleet_dir + "/" + day.image));
      VCSNAP_ASSIGN_OR_RETURN(Bytes bitmap,
                              ReadWholeFile(fleet_dir + "/" + day.bitmap,
                                            day.size / m.granularity / 8 + 8));
      const uint64_t segments = (day.size + seg - 1) / seg;
      const uint64_t per = seg / m.granularity;
      auto dirty = [&](uint64_t s) {
        for (uint64_t g = s * per; g < (s + 1) * per; ++g) {
          if (g / 8 >= bitmap.size()) return true;  // short bitmap: dirty
          if ((bitmap[g / 8] >> (g % 8)) & 1) return true;
        }
        return false;
      };
      std::vector<std::vector<Key>> recipe(segments);
      r.snapshots++;
      r.logical_bytes += day.size;
      for (uint64_t s = 0; s < segments; ++s) {
        const uint64_t off = s * seg;
        const uint32_t len =
            static_cast<uint32_t>(std::min<uint64_t>(seg, day.size - off));
        const bool has_parent = s < parent.size();
        if (day.day > 0) r.parent_segments++;
        if (has_parent && !dirty(s)) {
          r.level1_bytes += len;
          recipe[s] = std::move(parent[s]);
          continue;
        }
        if (day.day > 0) r.dirty_segments++;
        std::span<uint8_t> view(buf.data(), len);
        VCSNAP_RETURN_IF_ERROR(reader.Read(off, view).WithContext(where));
        ChunkSegment(*chunker, view, &chunks);
        std::vector<Key>& keys = recipe[s];
        for (const ChunkInfo& c : chunks) {
          if (c.zero) {
            r.zero_bytes += c.length;
            continue;
          }
          const Key k = KeyOf(c.fp);
          keys.push_back(k);
          r.chunks_read++;
          const bool in_parent =
              has_parent &&
              std::binary_search(parent[s].begin(), parent[s].end(), k);
          auto [it, fresh] = index.try_emplace(k, Entry{v, 1, c.length});
          if (fresh) {
            r.unique_bytes += c.length;
          } else if (in_parent) {
            r.level2_bytes += c.length;
          } else if (it->second.last_vm == v) {
            r.inner_vm_bytes += c.length;
          } else {
            r.cross_vm_bytes += c.length;
          }
          if (!fresh && it->second.last_vm != v) {
            it->second.last_vm = v;
            it->second.vms++;
          }
        }
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      }
      parent = std::move(recipe);
      if (options.progress) {
        options.progress(where + ": " + std::to_string(index.size()) +
                         " unique chunks");
      }
    }
  }
  r.unique_chunks = index.size();
  r.popularity_chunks.assign(m.vms.size() + 1, 0);
  r.popularity_bytes.assign(m.vms.size() + 1, 0);
  for (const auto& [k, e] : index) {
    const uint32_t p =
        std::min<uint32_t>(e.vms, static_cast<uint32_t>(m.vms.size()));
    r.popularity_chunks[p]++;
    r.popularity_bytes[p] += e.length;
  }
  uint32_t pts = 0;
  r.zipf_alpha = FitZipf(r.popularity_chunks, options.fit_min_popularity, &pts);
  r.zipf_points = pts;
  uint32_t shared_pts = 0;
  r.zipf_alpha_shared = FitZipf(r.popularity_chunks, 2, &shared_pts);
  // unordered_map node: next pointer + key + entry + cached-hash slack, plus
  // a bucket pointer per bucket.
  r.index_bytes =
      index.size() * (sizeof(void*) + sizeof(Key) + sizeof(Entry) + 8) +
      index.bucket_count() * sizeof(void*);
  r.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return r;
}

std::string TruthToJson(const TruthReport& r) {
  nlohmann::json j;
  j["vms"] = r.vms;
  j["snapshots"] = r.snapshots;
  j["segment_size"] = r.segment_size;
  j["chunker"] = {{"kind", "gear"},
                  {"min", r.chunk_min},
                  {"avg", r.chunk_avg},
                  {"max", r.chunk_max}};
  j["logical_bytes"] = r.logical_bytes;
  j["bytes"] = {{"level1", r.level1_bytes},     {"level2", r.level2_bytes},
                {"inner_vm", r.inner_vm_bytes}, {"cross_vm", r.cross_vm_bytes},
                {"zero", r.zero_bytes},         {"unique", r.unique_bytes}};
  j["share"] = {{"level1", r.Share(r.level1_bytes)},
                {"level2", r.Share(r.level2_bytes)},
                {"inner_vm", r.Share(r.inner_vm_bytes)},
                {"cross_vm", r.Share(r.cross_vm_bytes)},
                {"zero", r.Share(r.zero_bytes)},
                {"exact_global_dedup", r.ExactDedup()}};
  j["dirty_segment_share"] = r.parent_segments == 0
                                 ? 0.0
                                 : static_cast<double>(r.dirty_segments) /
                                       static_cast<double>(r.parent_segments);
  j["chunks_read"] = r.chunks_read;
  j["unique_chunks"] = r.unique_chunks;
  j["popularity_chunks"] = r.popularity_chunks;
  j["popularity_bytes"] = r.popularity_bytes;
  j["zipf_alpha"] = r.zipf_alpha;
  j["zipf_alpha_shared"] = r.zipf_alpha_shared;
  j["zipf_points"] = r.zipf_points;
  j["index_bytes"] = r.index_bytes;
  j["seconds"] = r.seconds;
  return j.dump(2) + "\n";
}

std::string TruthToText(const TruthReport& r) {
  char buf[4096];
  auto pct = [&](uint64_t b) { return 100.0 * r.Share(b); };
  const double dirty = r.parent_segments == 0
                           ? 0
                           : 100.0 * static_cast<double>(r.dirty_segments) /
                                 static_cast<double>(r.parent_segments);
  int n = std::snprintf(
      buf, sizeof buf,
      "fleet: %llu VMs, %llu snapshots, %.2f GiB logical, segment %llu KiB\n"
      "chunker: gear %u / %u / %u bytes (min / average / max), SHA-256\n"
      "dirty segments per day (days with a parent): %.1f %%\n"
      "level 1 (clean segments)        %6.2f %%\n"
      "level 2 (parent's segment)      %6.2f %%\n"
      "inner-VM beyond level 2         %6.2f %%\n"
      "cross-VM                        %6.2f %%\n"
      "zero chunks                     %6.2f %%\n"
      "unique (stored)                 %6.2f %%\n"
      "remaining after L1 %.1f %%, after L1+L2 %.1f %%, after all %.1f %%\n"
      "exact global dedup              %6.2f %%\n"
      "unique chunks %llu; Zipf alpha %.3f (%u popularity levels), "
      "%.3f (shared chunks only)\n"
      "index memory %.1f MiB; %.1f s\n",
      static_cast<unsigned long long>(r.vms),
      static_cast<unsigned long long>(r.snapshots),
      static_cast<double>(r.logical_bytes) / (1 << 30),
      static_cast<unsigned long long>(r.segment_size >> 10), r.chunk_min,
      r.chunk_avg, r.chunk_max, dirty, pct(r.level1_bytes), pct(r.level2_bytes),
      pct(r.inner_vm_bytes), pct(r.cross_vm_bytes), pct(r.zero_bytes),
      pct(r.unique_bytes), 100 - pct(r.level1_bytes),
      100 - pct(r.level1_bytes) - pct(r.level2_bytes), pct(r.unique_bytes),
      100.0 * r.ExactDedup(), static_cast<unsigned long long>(r.unique_chunks),
      r.zipf_alpha, r.zipf_points, r.zipf_alpha_shared,
      static_cast<double>(r.index_bytes) / (1 << 20), r.seconds);
  std::string out(buf, static_cast<size_t>(std::max(n, 0)));
  out += "popularity (VMs: unique chunks):";
  for (size_t p = 1; p < r.popularity_chunks.size(); ++p) {
    out +=
        " " + std::to_string(p) + ":" + std::to_string(r.popularity_chunks[p]);
  }
  out += "\n";
  return out;
}

}  // namespace vcsnap::fleet
