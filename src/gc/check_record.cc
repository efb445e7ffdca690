#include "gc/check_record.h"

#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "format/envelope.h"

namespace vcsnap {
namespace {

const EnvelopeSpec kSpec{{'V', 'C', 'H', 'K'}, "check record", 1, 1, 64 << 10};

nlohmann::json ToJson(const CheckRecord& r) {
  return {{"finished", r.finished_unix},
          {"read_data", r.read_data},
          {"seconds", r.seconds},
          {"vms", r.vms},
          {"snapshots", r.snapshots},
          {"references", r.references},
          {"bytes_read", r.bytes_read},
          {"problems", r.problems},
          {"first_problems", r.first_problems},
          {"host", r.host}};
}

// A record from JSON, checking every field's type and the bounds.
Result<CheckRecord> FromJson(const nlohmann::json& j,
                             const std::string& where) {
  const auto bad = [&](const char* field) {
    return Status::Corruption(where + ": field '" + field +
                              "' is missing or "
                              "of the wrong type");
  };
  if (!j.is_object()) return Status::Corruption(where + ": not an object");
  CheckRecord r;
  struct U64Field {
    const char* name;
    uint64_t* value;
  };
  for (const U64Field f :
       {U64Field{"finished", &r.finished_unix}, U64Field{"vms", &r.vms},
        U64Field{"snapshots", &r.snapshots},
        U64Field{"references", &r.references},
        U64Field{"bytes_read", &r.bytes_read},
        U64Field{"problems", &r.problems}}) {
    auto it = j.find(f.name);
    if (it == j.end() || !it->is_number_unsigned()) return bad(f.name);
    *f.value = it->get<uint64_t>();
  }
  auto rd = j.find("read_data");
  if (rd == j.end() || !rd->is_boolean()) return bad("read_data");
  r.read_data = rd->get<bool>();
  auto sec = j.find("seconds");
  if (sec == j.end() || !sec->is_number()) return bad("seconds");
  r.seconds = sec->get<double>();
  auto host = j.find("host");
  if (host == j.end() || !host->is_string()) return bad("host");
  r.host = host->get<std::string>();
  auto fp = j.find("first_problems");
  if (fp == j.end() || !fp->is_array() || fp->size() > kRecordedProblems) {
    return bad("first_problems");
  }
  for (const nlohmann::json& p : *fp) {
    if (!p.is_string()) return bad("first_problems");
    r.first_problems.push_back(p.get<std::string>());
  }
  return r;
}

}  // namespace

std::string CheckRecordName() { return "status/check"; }

CheckRecord MakeCheckRecord(const CheckResult& result, bool read_data) {
  CheckRecord r;
  r.finished_unix = static_cast<uint64_t>(std::time(nullptr));
  r.read_data = read_data;
  r.seconds = result.seconds;
  r.vms = result.vms;
  r.snapshots = result.snapshots;
  r.references = result.references;
  r.bytes_read = result.bytes_read;  // as check prints it
  r.problems = result.problems.size();
  for (size_t i = 0; i < result.problems.size() && i < kRecordedProblems; ++i) {
    r.first_problems.push_back(
        result.problems[i].substr(0, kRecordedProblemLen));
  }
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) == 0) r.host = host;
  return r;
}

Result<CheckRecords> LoadCheckRecords(Backend& backend) {
  const std::string name = CheckRecordName();
  Result<Bytes> raw = backend.Get(name);
  if (!raw.ok()) {
    if (raw.status().IsNotFound()) return CheckRecords{};
    return raw.status();
  }
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kSpec, name, *raw));
  nlohmann::json j = nlohmann::json::parse(AsChars(env.body), nullptr, false);
  if (!j.is_object()) return Status::Corruption(name + ": not a JSON object");
  CheckRecords out;
  for (const char* key : {"last", "last_read_data"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    VCSNAP_ASSIGN_OR_RETURN(CheckRecord r,
                            FromJson(*it, name + " '" + key + "'"));
    (std::string(key) == "last" ? out.last : out.last_read_data) = r;
  }
  return out;
}

Status SaveCheckRecord(Backend& backend, const CheckRecord& record) {
  Result<CheckRecords> old = LoadCheckRecords(backend);
  if (!old.ok() && !old.status().IsUnreadable()) return old.status();
  CheckRecords next = old.ok() ? *old : CheckRecords{};
  next.last = record;
  if (record.read_data) next.last_read_data = record;
  nlohmann::json j = nlohmann::json::object();
  j["last"] = ToJson(*next.last);
  j["last_read_data"] = next.last_read_data ? ToJson(*next.last_read_data)
                                            : nlohmann::json(nullptr);
  const std::string name = CheckRecordName();
  // Problems are cut at a byte count: never fail on a split character.
  const std::string body =
      j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return backend.Put(name, EncodeEnvelope(kSpec, 1, name, AsBytes(body)));
}

}  // namespace vcsnap
