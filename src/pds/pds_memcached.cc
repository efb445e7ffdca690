#include "pds/pds_memcached.h"

#include <libmemcached/memcached.h>

#include <charconv>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include "pds/pds_table.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr size_t kMaxServers = 64;
constexpr size_t kValueSize = 20;
constexpr size_t kMarkerSize = 16;
constexpr size_t kMgetKeys = 256;

std::string KeyPrefix(const RepoId& id, uint32_t generation) {
  static const char* kDigits = "0123456789abcdef";
  std::string p = "vcsnap:";
  for (size_t i = 0; i < 8; ++i) {
    p += kDigits[id[i] >> 4];
    p += kDigits[id[i] & 15];
  }
  return p + ":" + std::to_string(generation) + ":";
}

// The keyed check of a value: XXH3-64 of key and payload, seeded by the
// whole repository ID.
uint64_t Check(const RepoId& id, std::string_view key, ByteView payload) {
  Bytes b(key.begin(), key.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return Checksum64(b, Checksum64(ByteView(id.data(), id.size()), 0));
}

Bytes EncodeValue(const RepoId& id, std::string_view key, uint64_t a,
                  std::optional<uint32_t> b) {
  Bytes v;
  ByteWriter w(&v);
  w.U64(a);
  if (b) w.U32(*b);
  const uint64_t check = Check(id, key, v);
  w.U64(check);
  return v;
}

// The payload of a value whose check holds; nullopt otherwise.
std::optional<ByteView> CheckedPayload(const RepoId& id, std::string_view key,
                                       ByteView value, size_t size) {
  if (value.size() != size) return std::nullopt;
  ByteView payload = value.first(size - 8);
  if (DecodeFixed64(value.data() + size - 8) != Check(id, key, payload)) {
    return std::nullopt;
  }
  return payload;
}

std::string Describe(const std::vector<MemcachedServer>& servers) {
  std::string s;
  for (const MemcachedServer& m : servers) {
    s += (s.empty() ? "" : ",") + m.host + ":" + std::to_string(m.port);
  }
  return "memcached " + s;
}

}  // namespace

struct MemcachedConn {
  memcached_st* mc = nullptr;
  std::string where;
  ~MemcachedConn() {
    if (mc != nullptr) memcached_free(mc);
  }
};

namespace {

Result<std::unique_ptr<MemcachedConn>> Connect(
    const std::vector<MemcachedServer>& servers) {
  auto c = std::make_unique<MemcachedConn>();
  c->where = Describe(servers);
  c->mc = memcached_create(nullptr);
  if (c->mc == nullptr) return Status::IOError("memcached_create failed");
  for (const MemcachedServer& s : servers) {
    if (memcached_server_add(c->mc, s.host.c_str(), s.port) !=
        MEMCACHED_SUCCESS) {
      return Status::InvalidArgument("memcached server " + s.host + ":" +
                                     std::to_string(s.port) +
                                     " cannot be added");
    }
  }
  memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                         MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
  memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_KETAMA_HASH,
                         MEMCACHED_HASH_MD5);
  memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 1000);
  memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 1000);
  memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 30);
  memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 1);
  return c;
}

}  // namespace

bool IsMemcachedLocation(std::string_view location) {
  return location.starts_with(kMemcachedScheme);
}

Result<std::vector<MemcachedServer>> ParseMemcachedLocation(
    std::string_view location) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("memcached location '" +
                                   std::string(location) +
                                   "': " + std::string(why));
  };
  if (!IsMemcachedLocation(location)) {
    return bad("expected memcached://HOST:PORT[,HOST:PORT...]");
  }
  std::string_view rest = location.substr(kMemcachedScheme.size());
  std::vector<MemcachedServer> out;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    size_t colon = item.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return bad("'" + std::string(item) + "' is not HOST:PORT");
    }
    std::string_view host = item.substr(0, colon),
                     port = item.substr(colon + 1);
    for (char ch : host) {
      bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
      if (!ok) return bad("host '" + std::string(host) + "' is not valid");
    }
    uint32_t p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 ||
        p > 65535) {
      return bad("port '" + std::string(port) + "' is not 1..65535");
    }
    out.push_back({std::string(host), static_cast<uint16_t>(p)});
    if (out.size() > kMaxServers) return bad("more than 64 servers");
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

Result<MemcachedLoadResult> LoadPdsIndexIntoMemcached(
    Backend& backend, const RepoId& repo_id, uint32_t generation,
    const std::vector<MemcachedServer>& servers) {
  const auto start = std::chrono::steady_clock::now();
  VCSNAP_ASSIGN_OR_RETURN(PdsIndexMeta meta,
                          ReadPdsIndexMeta(backend, generation));
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<MemcachedConn> c, Connect(servers));
  // Every set waits for its answer, so that once the marker is there every
  // entry is too. (Buffered "noreply" sets were 3x faster, but a lookup
  // right after the load missed a whole server's share while that server
  // still worked through them; buffered sets with answers left unread
  // filled the socket and lost entries.)
  const std::string prefix = KeyPrefix(repo_id, generation);
  uint64_t n = 0;
  for (uint32_t part = 0; part < meta.fences.size(); ++part) {
    VCSNAP_ASSIGN_OR_RETURN(std::vector<PdsIndexEntry> entries,
                            ReadPdsIndexPart(backend, generation, part));
    for (const PdsIndexEntry& e : entries) {
      const std::string key = prefix + ToHex(e.fp);
      Bytes v = EncodeValue(repo_id, key, e.offset, e.size);
      memcached_return_t rc = memcached_set(
          c->mc, key.data(), key.size(),
          reinterpret_cast<const char*>(v.data()), v.size(), 0, 0);
      if (rc != MEMCACHED_SUCCESS) {
        return Status::IOError("load PDS index into " + c->where + ": " +
                               memcached_strerror(c->mc, rc));
      }
      ++n;
    }
  }
  const std::string marker = prefix + "loaded";
  Bytes mv = EncodeValue(repo_id, marker, n, std::nullopt);
  memcached_return_t rc =
      memcached_set(c->mc, marker.data(), marker.size(),
                    reinterpret_cast<const char*>(mv.data()), mv.size(), 0, 0);
  if (rc != MEMCACHED_SUCCESS) {
    return Status::IOError("set the PDS marker in " + c->where + ": " +
                           memcached_strerror(c->mc, rc));
  }
  MemcachedLoadResult r;
  r.generation = generation;
  r.entries = n;
  r.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return r;
}

MemcachedPdsIndex::MemcachedPdsIndex(std::unique_ptr<MemcachedConn> conn,
                                     const RepoId& repo_id, uint32_t generation,
                                     uint64_t entries)
    : conn_(std::move(conn)),
      repo_id_(repo_id),
      generation_(generation),
      entries_(entries) {}

MemcachedPdsIndex::~MemcachedPdsIndex() = default;

Result<std::unique_ptr<MemcachedPdsIndex>> MemcachedPdsIndex::Open(
    const RepoId& repo_id, uint32_t generation,
    const std::vector<MemcachedServer>& servers) {
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<MemcachedConn> c, Connect(servers));
  const std::string marker = KeyPrefix(repo_id, generation) + "loaded";
  size_t len = 0;
  uint32_t flags = 0;
  memcached_return_t rc;
  char* v =
      memcached_get(c->mc, marker.data(), marker.size(), &len, &flags, &rc);
  if (v == nullptr) {
    if (rc == MEMCACHED_NOTFOUND) {
      return Status::NotFound("PDS generation " + std::to_string(generation) +
                              " is not loaded into " + c->where +
                              " (run 'vcsnap pds load --memcached ...')");
    }
    return Status::IOError("read the PDS marker from " + c->where + ": " +
                           memcached_strerror(c->mc, rc));
  }
  Bytes value(v, v + len);
  std::free(v);
  std::optional<ByteView> payload =
      CheckedPayload(repo_id, marker, value, kMarkerSize);
  if (!payload) {
    return Status::Corruption("the PDS marker in " + c->where +
                              " fails its check");
  }
  const uint64_t entries = DecodeFixed64(payload->data());
  return std::unique_ptr<MemcachedPdsIndex>(
      new MemcachedPdsIndex(std::move(c), repo_id, generation, entries));
}

uint64_t MemcachedPdsIndex::rejected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rejected_;
}

void MemcachedPdsIndex::Lookup(std::span<const Fingerprint> fps,
                               std::vector<std::optional<PdsRef>>* out) const {
  out->assign(fps.size(), std::nullopt);
  if (fps.empty()) return;
  const std::string prefix = KeyPrefix(repo_id_, generation_);
  std::vector<std::string> keys(fps.size());
  std::vector<const char*> ptrs(fps.size());
  std::vector<size_t> lens(fps.size());
  std::unordered_map<std::string_view, size_t> where;
  where.reserve(fps.size());
  for (size_t i = 0; i < fps.size(); ++i) {
    keys[i] = prefix + ToHex(fps[i]);
    ptrs[i] = keys[i].data();
    lens[i] = keys[i].size();
    where.emplace(keys[i], i);  // duplicates: the first; filled below
  }
  std::lock_guard<std::mutex> lock(mu_);
  memcached_st* mc = conn_->mc;
  // Multi-gets of at most kMgetKeys keys: libmemcached writes a whole
  // request before it reads any answer, and larger ones lost keys here. A
  // server that is down makes its keys misses (SOME_ERRORS), as a cache
  // should; nothing here fails the backup.
  for (size_t at = 0; at < fps.size(); at += kMgetKeys) {
    const size_t n = std::min(kMgetKeys, fps.size() - at);
    memcached_return_t rc =
        memcached_mget(mc, ptrs.data() + at, lens.data() + at, n);
    if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_SOME_ERRORS) continue;
    memcached_result_st* r;
    while ((r = memcached_fetch_result(mc, nullptr, &rc)) != nullptr) {
      std::string_view key(memcached_result_key_value(r),
                           memcached_result_key_length(r));
      ByteView value(
          reinterpret_cast<const uint8_t*>(memcached_result_value(r)),
          memcached_result_length(r));
      auto it = where.find(key);
      std::optional<ByteView> payload =
          it == where.end() ? std::nullopt
                            : CheckedPayload(repo_id_, key, value, kValueSize);
      if (payload) {
        PdsRef ref{generation_, DecodeFixed64(payload->data()),
                   DecodeFixed32(payload->data() + 8)};
        if (ref.valid()) (*out)[it->second] = ref;
      } else {
        ++rejected_;
      }
      memcached_result_free(r);
    }
  }
  // Repeated fingerprints in one batch share the first one's answer.
  for (size_t i = 0; i < fps.size(); ++i) {
    size_t first = where.find(keys[i])->second;
    if (first != i) (*out)[i] = (*out)[first];
  }
}

}  // namespace vcsnap
