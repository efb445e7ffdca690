#include "backend/rados_location.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <utility>

#include "backend/backend.h"
#include "format/envelope.h"
#include "util/coding.h"
#include "util/module.h"

namespace vcsnap {
namespace {

constexpr uint16_t kLayoutVersion = 1;
constexpr size_t kMaxPoolName = 100;
const EnvelopeSpec kLayoutSpec{
    {'V', 'R', 'L', 'Y'}, "RADOS layout record", 1, kLayoutVersion, 512};

Status Bad(std::string_view location, std::string_view why) {
  return Status::InvalidArgument("repository '" + std::string(location) +
                                 "': " + std::string(why));
}

bool ValidPoolName(std::string_view s) {
  if (s.empty() || s.size() > kMaxPoolName || s[0] == '.') return false;
  return std::all_of(s.begin(), s.end(), IsNameChar);
}

}  // namespace

bool InRadosPdsPool(std::string_view name) {
  return std::ranges::any_of(kRadosPdsPoolPrefixes, [name](std::string_view p) {
    return name.starts_with(p);
  });
}

bool IsRadosLocation(std::string_view location) {
  return location.starts_with(kRadosScheme);
}

Result<RadosLocation> ParseRadosLocation(std::string_view location) {
  if (!IsRadosLocation(location)) {
    return Bad(location, "not a rados:// location");
  }
  std::string_view rest = location.substr(kRadosScheme.size());
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    if (query.empty()) return Bad(location, "nothing after '?'");
  }
  RadosLocation loc;
  std::string_view pool = rest, ns;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    pool = rest.substr(0, slash);
    ns = rest.substr(slash + 1);
    if (!ValidPoolName(ns)) {
      return Bad(location, "namespace '" + std::string(ns) +
                               "' must be 1..100 bytes of [A-Za-z0-9._-], "
                               "not starting with '.'");
    }
  }
  if (!ValidPoolName(pool)) {
    return Bad(location, "pool name '" + std::string(pool) +
                             "' must be 1..100 bytes of [A-Za-z0-9._-], not "
                             "starting with '.'");
  }
  loc.pool = pool;
  loc.ns = ns;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size()) {
      return Bad(location,
                 "expected KEY=VALUE, got '" + std::string(item) + "'");
    }
    std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "pds_pool") {
      if (!ValidPoolName(value)) {
        return Bad(location, "pds_pool '" + std::string(value) +
                                 "' is not a valid pool name");
      }
      loc.pds_pool = value;
    } else if (key == "conf") {
      loc.conf = value;
    } else if (key == "keyring") {
      loc.keyring = value;
    } else if (key == "user") {
      loc.user = value.starts_with("client.") ? std::string(value)
                                              : "client." + std::string(value);
    } else if (key == "cluster") {
      if (!ValidPoolName(value)) {
        return Bad(location,
                   "cluster name '" + std::string(value) + "' is not valid");
      }
      loc.cluster = value;
    } else if (key == "timeout") {
      uint32_t t = 0;
      auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), t);
      if (ec != std::errc() || end != value.data() + value.size() || t < 1 ||
          t > 3600) {
        return Bad(location, "timeout must be 1..3600 seconds, not '" +
                                 std::string(value) + "'");
      }
      loc.timeout_seconds = t;
    } else {
      return Bad(location,
                 "unknown key '" + std::string(key) +
                     "' (known: pds_pool, conf, keyring, user, cluster, "
                     "timeout)");
    }
  }
  return loc;
}

Bytes EncodeRadosLayout(const RadosLayout& layout) {
  Bytes body;
  ByteWriter w(&body);
  w.U16(static_cast<uint16_t>(layout.pds_pool.size()));
  w.Raw(std::string_view(layout.pds_pool));
  return EncodeEnvelope(kLayoutSpec, kLayoutVersion, kRadosLayoutObject, body);
}

Result<RadosLayout> DecodeRadosLayout(ByteView bytes) {
  VCSNAP_ASSIGN_OR_RETURN(
      DecodedEnvelope env,
      DecodeEnvelope(kLayoutSpec, kRadosLayoutObject, bytes));
  ByteReader r(env.body, "RADOS layout record");
  VCSNAP_ASSIGN_OR_RETURN(uint16_t len, r.U16("pds pool length"));
  VCSNAP_ASSIGN_OR_RETURN(ByteView name, r.Raw(len, "pds pool name"));
  if (!r.done()) {
    return Status::Corruption(
        "RADOS layout record: " + std::to_string(r.remaining()) +
        " unexpected bytes after the pool name");
  }
  RadosLayout layout;
  layout.pds_pool.assign(reinterpret_cast<const char*>(name.data()),
                         name.size());
  if (!layout.pds_pool.empty() && !ValidPoolName(layout.pds_pool)) {
    return Status::Corruption("RADOS layout record: pool name is not valid");
  }
  return layout;
}

namespace {
std::atomic<RadosOpener> rados_opener{nullptr};

// The module UseRadosModule names, loaded on the first open. Its entry
// point (rados_module.cc) returns a pointer to its RadosOpener.
LazyModule& RadosModule() {
  static LazyModule module("vcsnap_rados_opener");
  return module;
}

Result<std::unique_ptr<Backend>> OpenThroughModule(
    const RadosLocation& location, bool create, uint64_t max_object_size) {
  Result<const void*> table = RadosModule().Get();
  if (!table.ok()) {
    return Status::NotSupported(
        "rados://" + location.pool +
        ": the RADOS backend could not be loaded: " + table.status().message());
  }
  const RadosOpener open = *static_cast<const RadosOpener*>(*table);
  return open(location, create, max_object_size);
}

}  // namespace

void SetRadosOpener(RadosOpener opener) { rados_opener.store(opener); }

void UseRadosModule(Result<std::string> module) {
  RadosModule().SetPath(std::move(module));
  SetRadosOpener(&OpenThroughModule);
}

Result<std::unique_ptr<Backend>> OpenRadosBackend(const RadosLocation& location,
                                                  bool create,
                                                  uint64_t max_object_size) {
  RadosOpener open = rados_opener.load();
  if (open == nullptr) {
    return Status::NotSupported(
        "rados://" + location.pool +
        ": this program was built without the RADOS backend");
  }
  return open(location, create, max_object_size);
}

}  // namespace vcsnap
