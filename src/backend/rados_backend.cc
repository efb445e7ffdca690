#include "backend/rados_backend.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <nlohmann/json.hpp>
#include <rados/librados.hpp>

namespace vcsnap {
namespace {

constexpr size_t kStatsInFlight = 64;

Status RadosError(std::string_view op, std::string_view what, int r) {
  if (r == -EFBIG) {
    return Status::InvalidArgument(std::string(op) + " " + std::string(what) +
                                   ": object too large for RADOS (EFBIG)");
  }
  if (r == -ETIMEDOUT) {
    return Status::IOError(
        std::string(op) + " " + std::string(what) +
            ": timed out (no answer within the location's timeout=; are the "
            "monitors reachable and every placement group active? see 'ceph "
            "health detail')",
        /*retryable=*/true);
  }
  return ErrnoToStatus(op, what, -r);
}

librados::bufferlist Copy(ByteView data) {
  librados::bufferlist bl;
  bl.append(reinterpret_cast<const char*>(data.data()), data.size());
  return bl;
}

void CopyOut(librados::bufferlist& bl, Bytes* out) {
  out->resize(bl.length());
  if (!out->empty()) {
    bl.begin().copy(bl.length(), reinterpret_cast<char*>(out->data()));
  }
}

// The layout record: written once by init (with `wanted` as the PDS pool),
// the truth for every later open.
Result<RadosLayout> LoadLayout(librados::IoCtx& io, const std::string& where,
                               bool create, const std::string& wanted) {
  const std::string name(kRadosLayoutObject);
  librados::bufferlist raw;
  int r = io.read(name, raw, 4096, 0);
  if (r == -ENOENT) {
    if (!create) {
      return Status::NotFound("no vcsnap repository in " + where +
                              " (no layout record); run 'vcsnap init' first");
    }
    librados::ObjectWriteOperation op;
    op.create(/*exclusive=*/true);
    librados::bufferlist bl = Copy(EncodeRadosLayout({wanted}));
    op.write_full(bl);
    r = io.operate(name, &op);
    if (r == 0) return RadosLayout{wanted};
    if (r != -EEXIST) return RadosError("write layout record of", where, r);
    // A concurrent init won: use what it recorded.
    raw.clear();
    r = io.read(name, raw, 4096, 0);
  }
  if (r < 0) return RadosError("read layout record of", where, r);
  Bytes bytes;
  CopyOut(raw, &bytes);
  Result<RadosLayout> decoded = DecodeRadosLayout(bytes);
  if (!decoded.ok()) return decoded.status().WithContext(where);
  return decoded;
}

}  // namespace

struct RadosBackend::Impl {
  librados::Rados cluster;
  librados::IoCtx main;
  librados::IoCtx pds;  // == main's pool when no pds_pool
  bool split = false;   // PDS in a pool of its own
  std::string pool, pds_pool;

  ~Impl() {
    pds.close();
    main.close();
    cluster.shutdown();
  }

  librados::IoCtx& For(std::string_view name) {
    return split && InRadosPdsPool(name) ? pds : main;
  }

  Result<std::vector<std::string>> ListNames(librados::IoCtx& io,
                                             std::string_view prefix,
                                             std::string_view what) {
    std::vector<std::string> names;
    try {
      for (auto it = io.nobjects_begin(); it != io.nobjects_end(); ++it) {
        const std::string& oid = it->get_oid();
        if (oid.starts_with(prefix) && !oid.starts_with('.')) {
          names.push_back(oid);
        }
      }
    } catch (const std::exception& e) {
      // librados reports listing errors by throwing from the iterator.
      return Status::IOError("list " + std::string(what) + ": " + e.what(),
                             /*retryable=*/true);
    }
    return names;
  }
};

RadosBackend::RadosBackend(std::unique_ptr<Impl> impl, uint64_t max_object_size,
                           std::string describe)
    : impl_(std::move(impl)),
      max_object_size_(max_object_size),
      describe_(std::move(describe)) {}

RadosBackend::~RadosBackend() = default;

Result<std::unique_ptr<Backend>> OpenRadosBackendHere(
    const RadosLocation& location, bool create, uint64_t max_object_size) {
  VCSNAP_ASSIGN_OR_RETURN(
      std::unique_ptr<RadosBackend> rados,
      RadosBackend::Open(location, create, max_object_size));
  return std::unique_ptr<Backend>(std::move(rados));
}

void EnableRadosBackend() { SetRadosOpener(&OpenRadosBackendHere); }

Result<std::unique_ptr<RadosBackend>> RadosBackend::Open(
    const RadosLocation& loc, bool create, uint64_t max_object_size) {
  auto impl = std::make_unique<Impl>();
  std::string where =
      "rados:" + loc.pool + (loc.ns.empty() ? "" : "/" + loc.ns);
  auto fail = [&](std::string_view op, int r) {
    return RadosError(op, where, r);
  };
  int r = impl->cluster.init2(loc.user.c_str(), loc.cluster.c_str(), 0);
  if (r < 0) return fail("init librados for", r);
  r = impl->cluster.conf_read_file(loc.conf.empty() ? nullptr
                                                    : loc.conf.c_str());
  if (r < 0) {
    return Status::InvalidArgument(
        "cannot read the Ceph configuration " +
        (loc.conf.empty() ? std::string("(default search: $CEPH_CONF, "
                                        "/etc/ceph/ceph.conf)")
                          : loc.conf) +
        " for " + where + ": " + std::strerror(-r));
  }
  if (!loc.keyring.empty()) {
    impl->cluster.conf_set("keyring", loc.keyring.c_str());
  }
  const std::string t = std::to_string(loc.timeout_seconds);
  impl->cluster.conf_set("rados_osd_op_timeout", t.c_str());
  impl->cluster.conf_set("rados_mon_op_timeout", t.c_str());
  impl->cluster.conf_set("client_mount_timeout", t.c_str());
  r = impl->cluster.connect();
  if (r < 0) return RadosError("connect to the Ceph cluster for", where, r);
  auto open_pool = [&](const std::string& pool, librados::IoCtx& io) -> Status {
    int rr = impl->cluster.ioctx_create(pool.c_str(), io);
    if (rr == -ENOENT) {
      return Status::NotFound("RADOS pool '" + pool + "' does not exist (" +
                              where + ")");
    }
    if (rr < 0) return RadosError("open pool", pool, rr);
    io.set_namespace(loc.ns);
    return Status::Ok();
  };
  VCSNAP_RETURN_IF_ERROR(open_pool(loc.pool, impl->main));
  impl->pool = loc.pool;

  // What the location asks for; pds_pool == pool means "no PDS pool".
  const std::string wanted = loc.pds_pool == loc.pool ? "" : loc.pds_pool;
  VCSNAP_ASSIGN_OR_RETURN(RadosLayout layout,
                          LoadLayout(impl->main, where, create, wanted));
  if (!loc.pds_pool.empty() && wanted != layout.pds_pool) {
    return Status::InvalidArgument(
        where + " keeps its PDS in pool '" +
        (layout.pds_pool.empty() ? loc.pool : layout.pds_pool) + "', not '" +
        loc.pds_pool + "' (pds_pool= is fixed at init)");
  }
  impl->split = !layout.pds_pool.empty();
  impl->pds_pool = impl->split ? layout.pds_pool : loc.pool;
  if (impl->split) {
    VCSNAP_RETURN_IF_ERROR(open_pool(layout.pds_pool, impl->pds));
    where += " (pds: " + layout.pds_pool + ")";
  }
  uint64_t limit = std::min(max_object_size, kRadosMaxObjectSize);
  return std::unique_ptr<RadosBackend>(
      new RadosBackend(std::move(impl), limit, where));
}

const std::string& RadosBackend::PoolOf(std::string_view name) const {
  return impl_->split && InRadosPdsPool(name) ? impl_->pds_pool : impl_->pool;
}

Status RadosBackend::Put(std::string_view name, ByteView data) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  VCSNAP_RETURN_IF_ERROR(
      CheckObjectSize("put", name, data.size(), max_object_size_));
  librados::bufferlist bl = Copy(data);
  int r = impl_->For(name).write_full(std::string(name), bl);
  return r < 0 ? RadosError("put", name, r) : Status::Ok();
}

Status RadosBackend::Create(std::string_view name, ByteView data) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  VCSNAP_RETURN_IF_ERROR(
      CheckObjectSize("create", name, data.size(), max_object_size_));
  librados::ObjectWriteOperation op;
  op.create(/*exclusive=*/true);
  librados::bufferlist bl = Copy(data);
  op.write_full(bl);
  int r = impl_->For(name).operate(std::string(name), &op);
  return r < 0 ? RadosError("create", name, r) : Status::Ok();
}

Result<Bytes> RadosBackend::Get(std::string_view name) {
  Bytes out;
  VCSNAP_RETURN_IF_ERROR(GetInto(name, &out));
  return out;
}

Status RadosBackend::GetInto(std::string_view name, Bytes* out) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  librados::ObjectReadOperation op;
  uint64_t size = 0;
  int stat_rv = 0, read_rv = 0;
  librados::bufferlist bl;
  op.stat(&size, nullptr, &stat_rv);
  // Length 0 reads the whole object; a too-large one is refused below,
  // after the fact -- RADOS itself never holds more than 128 MiB.
  op.read(0, 0, &bl, &read_rv);
  int r = impl_->For(name).operate(std::string(name), &op, nullptr);
  if (r < 0) return RadosError("get", name, r);
  if (stat_rv < 0) return RadosError("get", name, stat_rv);
  if (read_rv < 0) return RadosError("get", name, read_rv);
  if (size > kMaxObjectSizeCeiling || bl.length() != size) {
    return Status::IOError("get " + std::string(name) + ": read " +
                           std::to_string(bl.length()) + " of " +
                           std::to_string(size) + " bytes");
  }
  CopyOut(bl, out);
  return Status::Ok();
}

Result<Bytes> RadosBackend::Read(std::string_view name, uint64_t offset,
                                 uint64_t length) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  if (length == 0 || offset >= kMaxObjectSizeCeiling) {
    // RADOS reads length 0 as "to the end"; only existence matters here.
    VCSNAP_RETURN_IF_ERROR(Stat(name).status());
    return Bytes();
  }
  length = std::min(length, kMaxObjectSizeCeiling - offset);
  librados::bufferlist bl;
  int r = impl_->For(name).read(std::string(name), bl, length, offset);
  if (r < 0) return RadosError("read", name, r);
  if (bl.length() > length) {
    return Status::IOError("read " + std::string(name) + ": got " +
                           std::to_string(bl.length()) + " bytes, asked " +
                           std::to_string(length));
  }
  Bytes out;
  CopyOut(bl, &out);
  return out;
}

Status RadosBackend::Append(std::string_view name, ByteView data) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  librados::IoCtx& io = impl_->For(name);
  const std::string oid(name);
  uint64_t size = 0;
  int r = io.stat(oid, &size, nullptr);
  if (r < 0 && r != -ENOENT) return RadosError("append", name, r);
  if (r == -ENOENT) size = 0;
  VCSNAP_RETURN_IF_ERROR(
      CheckObjectSize("append", name, size + data.size(), max_object_size_));
  if (data.empty()) {
    if (r != -ENOENT) return Status::Ok();
    librados::ObjectWriteOperation op;  // "creating it empty first"
    op.create(/*exclusive=*/false);
    r = io.operate(oid, &op);
    return r < 0 ? RadosError("append", name, r) : Status::Ok();
  }
  librados::bufferlist bl = Copy(data);
  r = io.append(oid, bl, data.size());
  return r < 0 ? RadosError("append", name, r) : Status::Ok();
}

Status RadosBackend::Sync(std::string_view name) {
  // Appends are durable once acknowledged; only existence is left to check.
  Result<ObjectInfo> info = Stat(name);
  if (!info.ok()) return info.status().WithContext("sync");
  return Status::Ok();
}

Status RadosBackend::Delete(std::string_view name) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  int r = impl_->For(name).remove(std::string(name));
  return r < 0 ? RadosError("delete", name, r) : Status::Ok();
}

Result<ObjectInfo> RadosBackend::Stat(std::string_view name) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  uint64_t size = 0;
  int r = impl_->For(name).stat(std::string(name), &size, nullptr);
  if (r < 0) return RadosError("stat", name, r);
  return ObjectInfo{std::string(name), size};
}

Result<std::vector<ObjectInfo>> RadosBackend::List(std::string_view prefix) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectPrefix(prefix));
  struct Source {
    librados::IoCtx* io;
    std::vector<std::string> names;
  };
  std::vector<Source> sources;
  // Which pools can hold names under `prefix`.
  bool may_be_main = true, may_be_pds = false;
  for (std::string_view p : kRadosPdsPoolPrefixes) {
    if (prefix.starts_with(p)) may_be_main = false;
    if (prefix.starts_with(p) || p.starts_with(prefix)) may_be_pds = true;
  }
  if (!impl_->split) {
    sources.push_back({&impl_->main, {}});
  } else {
    if (may_be_main) sources.push_back({&impl_->main, {}});
    if (may_be_pds) sources.push_back({&impl_->pds, {}});
  }
  for (Source& s : sources) {
    VCSNAP_ASSIGN_OR_RETURN(s.names,
                            impl_->ListNames(*s.io, prefix, describe_));
    if (impl_->split) {
      // Only "pds/..." and "ditto/..." objects of the PDS pool, and only
      // the others of the main pool, belong to this repository.
      const bool want_pds = s.io == &impl_->pds;
      std::erase_if(s.names, [want_pds](const std::string& n) {
        return InRadosPdsPool(n) != want_pds;
      });
    }
  }
  // Sizes: asynchronous stats, a bounded number in flight.
  struct Pending {
    std::unique_ptr<librados::AioCompletion> done;
    std::string name;
    uint64_t size = 0;
    time_t mtime = 0;
    bool submitted = false;
  };
  std::vector<ObjectInfo> out;
  std::deque<Pending> inflight;
  // Every return waits for the stats still in flight: they write into
  // `inflight`'s elements.
  struct Drain {
    std::deque<Pending>& q;
    ~Drain() {
      for (Pending& p : q) {
        if (p.submitted) p.done->wait_for_complete();
      }
    }
  } drain{inflight};
  auto finish_one = [&]() -> Status {
    Pending& p = inflight.front();
    p.done->wait_for_complete();
    int r = p.done->get_return_value();
    if (r == 0) {
      out.push_back({std::move(p.name), p.size});
    } else if (r != -ENOENT) {  // deleted since listed: left out
      return RadosError("list (stat)", p.name, r);
    }
    inflight.pop_front();
    return Status::Ok();
  };
  for (Source& s : sources) {
    for (std::string& name : s.names) {
      if (inflight.size() == kStatsInFlight) {
        VCSNAP_RETURN_IF_ERROR(finish_one());
      }
      Pending& p = inflight.emplace_back();
      p.done.reset(librados::Rados::aio_create_completion());
      p.name = std::move(name);
      int r = s.io->aio_stat(p.name, p.done.get(), &p.size, &p.mtime);
      if (r < 0) return RadosError("list (stat)", p.name, r);
      p.submitted = true;
    }
  }
  while (!inflight.empty()) VCSNAP_RETURN_IF_ERROR(finish_one());
  std::sort(
      out.begin(), out.end(),
      [](const ObjectInfo& a, const ObjectInfo& b) { return a.name < b.name; });
  return out;
}

Result<uint32_t> RadosBackend::CopiesOf(std::string_view name) {
  const std::string& pool = PoolOf(name);
  librados::bufferlist in, out;
  std::string error;
  int r = impl_->cluster.mon_command(
      R"({"prefix": "osd pool ls", "detail": "detail", "format": "json"})", in,
      &out, &error);
  if (r < 0) {
    return ErrnoToStatus("osd pool ls (" + error + ")", describe_, -r);
  }
  nlohmann::json pools = nlohmann::json::parse(out.to_str(), nullptr, false);
  if (!pools.is_array()) {
    return Status::IOError("unreadable answer to 'osd pool ls' from " +
                           describe_);
  }
  for (const nlohmann::json& p : pools) {
    if (!p.is_object() || p.value("pool_name", "") != pool) continue;
    // Ceph's pg_pool_t types: 1 replicated, 3 erasure.
    if (p.value("type", 0) != 1) {
      return Status::NotSupported("pool " + pool +
                                  " is not replicated (erasure-coded?)");
    }
    int size = p.value("size", 0);
    if (size < 1) break;
    return static_cast<uint32_t>(size);
  }
  return Status::NotFound("pool " + pool +
                          " not in the answer of 'osd pool ls'");
}

Result<uint64_t> RadosBackend::PlacementGroupOf(std::string_view name) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  librados::IoCtx& io = impl_->For(name);
  uint32_t pg = 0;
  int r = io.get_object_pg_hash_position2(std::string(name), &pg);
  if (r < 0) return ErrnoToStatus("placement group of", name, -r);
  return static_cast<uint64_t>(io.get_id()) << 32 | pg;
}

}  // namespace vcsnap
