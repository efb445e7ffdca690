// Repository: the check and repair of its roots (repo/roots.h).
#include "format/key_slot.h"
#include "format/tenant.h"
#include "repo/repository.h"

namespace vcsnap {

Result<std::vector<RootProblem>> Repository::InspectRoots(bool repair) {
  std::vector<RootProblem> out;
  auto inspect = [&](const std::string& name,
                     const RootVerifier& verify) -> Status {
    VCSNAP_ASSIGN_OR_RETURN(std::optional<RootProblem> p,
                            InspectRoot(*backend_, name, verify, repair));
    if (p) out.push_back(std::move(*p));
    return Status::Ok();
  };
  VCSNAP_RETURN_IF_ERROR(
      inspect(std::string(kConfigObjectName),
              [](ByteView b) { return DecodeRepoConfig(b).status(); }));
  if (!config_.encrypted()) return out;
  VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> slots, ListKeySlots());
  for (const std::string& slot : slots) {
    VCSNAP_RETURN_IF_ERROR(
        inspect(slot, [&](ByteView b) { return CheckKeySlotFrame(slot, b); }));
  }
  const ByteView id(config_.repo_id.data(), config_.repo_id.size());
  Key256 wrap = TenantWrapKey(master_, id);
  VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> tenants, ListTenants());
  Status status;
  for (const std::string& tenant : tenants) {
    status = inspect(TenantKeyName(tenant), [&](ByteView b) {
      Result<Key256> master = OpenTenantKey(tenant, id, b, wrap);
      if (master.ok()) Wipe(&*master);
      return master.status();
    });
    if (!status.ok()) break;
  }
  Wipe(&wrap);
  VCSNAP_RETURN_IF_ERROR(status);
  return out;
}

}  // namespace vcsnap
