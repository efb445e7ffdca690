#include "recipe/lease.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>

#include "format/envelope.h"
#include "recipe/names.h"

namespace vcsnap {
namespace {

constexpr uint16_t kVersion = 1;
const EnvelopeSpec kSpec{{'V', 'L', 'S', 'E'}, "lease", 1, kVersion, 4096};

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

uint64_t NowUnix() { return static_cast<uint64_t>(std::time(nullptr)); }

std::string NewToken() { return RandomHex(32); }

Bytes Encode(const LeaseHolder& h, const std::string& name) {
  nlohmann::json j = {{"host", h.host},
                      {"pid", h.pid},
                      {"command", h.command},
                      {"started", h.started_unix},
                      {"token", h.token}};
  std::string body = j.dump();
  return EncodeEnvelope(kSpec, kVersion, name, AsBytes(body));
}

Result<LeaseHolder> Decode(ByteView bytes, const std::string& name) {
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kSpec, name, bytes));
  nlohmann::json j = nlohmann::json::parse(AsChars(env.body), nullptr,
                                           /*allow_exceptions=*/false);
  if (!j.is_object() || !j["host"].is_string() ||
      !j["pid"].is_number_integer() || !j["command"].is_string() ||
      !j["started"].is_number_unsigned() || !j["token"].is_string()) {
    return Status::Corruption("lease " + name + ": malformed holder record");
  }
  LeaseHolder h;
  h.host = j["host"].get<std::string>();
  h.pid = j["pid"].get<int64_t>();
  h.command = j["command"].get<std::string>();
  h.started_unix = j["started"].get<uint64_t>();
  h.token = j["token"].get<std::string>();
  return h;
}

}  // namespace

std::string RandomHex(size_t digits) {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
  static const char* kHex = "0123456789abcdef";
  std::string t;
  for (size_t i = 0; i < digits; ++i) t += kHex[rng() & 15];
  return t;
}

std::string LeaseHolder::Describe() const {
  char when[64] = "?";
  std::time_t t = static_cast<std::time_t>(started_unix);
  std::tm tm{};
  if (gmtime_r(&t, &tm) != nullptr) {
    std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
  }
  std::string out = "'" + command + "' (pid " + std::to_string(pid) +
                    " on host " + host + " since " + when;
  if (DeadOnThisHost()) out += ", process no longer running";
  return out + ")";
}

bool LeaseHolder::DeadOnThisHost() const {
  if (host != HostName() || pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

Result<std::unique_ptr<Lease>> Lease::Acquire(Backend* backend,
                                              const std::string& vm,
                                              const std::string& command) {
  return AcquireObject(backend, LeaseName(vm), "VM " + vm,
                       "vcsnap unlock --vm " + vm, command);
}

Result<std::unique_ptr<Lease>> Lease::AcquireObject(
    Backend* backend, const std::string& object, const std::string& label,
    const std::string& unlock_hint, const std::string& command) {
  LeaseHolder me{HostName(), static_cast<int64_t>(::getpid()), command,
                 NowUnix(), NewToken()};
  Status s = backend->Create(object, Encode(me, object));
  if (s.IsAlreadyExists()) {
    Result<LeaseHolder> holder = ReadLeaseObject(*backend, object);
    std::string who = holder.ok() ? holder->Describe() : "an unknown holder";
    return Status::Busy(label + " is locked by " + who +
                        "; if no vcsnap is working on it, run '" + unlock_hint +
                        "'");
  }
  VCSNAP_RETURN_IF_ERROR(s.WithContext(label + ": take lease"));
  return std::unique_ptr<Lease>(
      new Lease(backend, object, label, std::move(me)));
}

Lease::~Lease() { Release().IgnoreError(); }

Status Lease::Verify() {
  Result<LeaseHolder> now = ReadLeaseObject(*backend_, object_);
  if (now.ok() && now->token == holder_.token) return Status::Ok();
  if (!now.ok() && !now.status().IsNotFound()) return now.status();
  return Status::Busy(label_ +
                      ": our lease was broken by someone else; not committing");
}

Status Lease::Release() {
  if (released_) return Status::Ok();
  // Never delete a lease that is no longer ours.
  Status mine = Verify();
  released_ = true;
  if (!mine.ok()) return mine;
  Status s = backend_->Delete(object_);
  if (s.IsNotFound()) return Status::Ok();
  return s;
}

Result<LeaseHolder> ReadLease(Backend& backend, const std::string& vm) {
  return ReadLeaseObject(backend, LeaseName(vm));
}

Result<LeaseHolder> ReadLeaseObject(Backend& backend,
                                    const std::string& object) {
  VCSNAP_ASSIGN_OR_RETURN(Bytes raw, backend.Get(object));
  return Decode(raw, object);
}

Result<LeaseHolder> BreakLease(Backend& backend, const std::string& vm,
                               bool force, std::chrono::seconds stale_after) {
  return BreakLeaseObject(backend, LeaseName(vm), "VM " + vm, force,
                          stale_after);
}

Result<LeaseHolder> BreakLeaseObject(Backend& backend,
                                     const std::string& object,
                                     const std::string& what, bool force,
                                     std::chrono::seconds stale_after) {
  Result<LeaseHolder> holder = ReadLeaseObject(backend, object);
  if (!holder.ok() && !holder.status().IsCorruption()) {
    if (holder.status().IsNotFound()) {
      return Status::NotFound(what + " is not locked");
    }
    return holder.status();
  }
  if (holder.ok() && !force) {
    uint64_t age = NowUnix() - std::min(NowUnix(), holder->started_unix);
    bool stale = holder->DeadOnThisHost() ||
                 static_cast<int64_t>(age) > stale_after.count();
    if (!stale) {
      return Status::Busy(what + " is locked by " + holder->Describe() +
                          ", which may still be running; use --force if you "
                          "are sure it is not");
    }
  }
  VCSNAP_RETURN_IF_ERROR(backend.Delete(object));
  if (holder.ok()) return *holder;
  return LeaseHolder{"unknown", 0, "unreadable lease", 0, ""};
}

}  // namespace vcsnap
