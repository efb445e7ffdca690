// VmStore: enumeration of containers and the streaming read (ScanGroups) of
// check --read-data. Get is in vm_store.cc, the write path in
// vm_store_writer.cc.
#include <algorithm>
#include <set>

#include "store/vm_store.h"

namespace vcsnap {
namespace {

std::vector<uint64_t> Distinct(std::vector<uint64_t> cids) {
  std::sort(cids.begin(), cids.end());
  cids.erase(std::unique(cids.begin(), cids.end()), cids.end());
  return cids;
}

}  // namespace

Result<std::vector<uint16_t>> VmStore::ListContainerIds() {
  const std::string prefix = StorePrefix(vm_);
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend_->List(prefix));
  std::set<uint16_t> ids;
  for (const ObjectInfo& o : objects) {
    auto id = ParseContainerId(std::string_view(o.name).substr(prefix.size()));
    if (id.has_value() && *id >= kFirstContainerId && *id <= kLastContainerId) {
      ids.insert(*id);
    }
  }
  return std::vector<uint16_t>(ids.begin(), ids.end());
}

Result<ContainerInfo> VmStore::GetContainerInfo(uint16_t c) {
  VCSNAP_RETURN_IF_ERROR(ReloadView(c));
  ContainerInfo info;
  info.id = c;
  {
    std::lock_guard lock(mu_);
    const View& v = views_.at(c);
    info.generation = v.generation;
    info.base_cid = v.base_cid;
    info.next_cid = v.next_cid();
    info.groups = v.entries.size();
    for (const IndexEntry& e : v.entries) {
      info.cids += e.count;
      info.live_chunks += e.live;
      info.stored_bytes += e.length;
    }
  }
  Result<std::vector<uint64_t>> deleted = DeletedCids(c);
  if (!deleted.ok() && deleted.status().code() == StatusCode::kCorruption) {
    // Damage to the log costs only its lost records' space: count what is
    // readable and say what is wrong (stats and report show it).
    info.dlog_problem = deleted.status().message();
    const std::string name = DlogName(vm_, c, info.generation);
    VCSNAP_ASSIGN_OR_RETURN(Bytes bytes, backend_->Get(name));
    deleted = Distinct(SalvageDlog(bytes, name).cids);
  }
  VCSNAP_RETURN_IF_ERROR(deleted.status());
  info.deleted_chunks = deleted->size();
  return info;
}

Result<std::vector<ContainerInfo>> VmStore::ListContainers() {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<uint16_t> ids, ListContainerIds());
  std::vector<ContainerInfo> out;
  for (uint16_t c : ids) {
    Result<ContainerInfo> info = GetContainerInfo(c);
    if (!info.ok() && info.status().IsNotFound()) continue;  // crash debris
    if (!info.ok()) return info.status();
    out.push_back(*info);
  }
  return out;
}

Result<std::vector<IndexEntry>> VmStore::GroupIndex(uint16_t c) {
  VCSNAP_RETURN_IF_ERROR(ReloadView(c));
  std::lock_guard lock(mu_);
  return views_.at(c).entries;
}

Result<std::vector<uint64_t>> VmStore::DeletedCids(uint16_t c) {
  VCSNAP_ASSIGN_OR_RETURN(uint32_t gen, LoadGeneration(c));
  VCSNAP_ASSIGN_OR_RETURN(ParsedDlog dlog, LoadDlog(c, gen));
  return Distinct(std::move(dlog.cids));
}

Result<std::vector<uint64_t>> VmStore::PresentCids(uint16_t c) {
  VCSNAP_RETURN_IF_ERROR(ReloadView(c));
  View v;
  {
    std::lock_guard lock(mu_);
    v = views_.at(c);
  }
  std::vector<uint64_t> out;
  for (const IndexEntry& e : v.entries) {
    if (e.live == e.count) {
      for (uint64_t cid = e.first_cid; cid < e.end_cid(); ++cid) {
        out.push_back(cid);
      }
      continue;
    }
    // Holes: the group's header says which CIDs are present.
    const std::string block = BlockName(vm_, c, v.generation, e.block);
    const GroupPlace place = Place(c, v.generation, block, e.offset);
    VCSNAP_ASSIGN_OR_RETURN(Bytes bytes,
                            backend_->Read(block, e.offset, e.length));
    if (bytes.size() != e.length) {
      return Status::Corruption(place.Describe() + ": truncated group");
    }
    VCSNAP_ASSIGN_OR_RETURN(std::shared_ptr<DecodedGroup> g,
                            DecodeGroup(bytes, place, limits(), true));
    for (uint64_t cid = e.first_cid; cid < e.end_cid(); ++cid) {
      if (g->Covers(cid) && g->Present(cid)) out.push_back(cid);
    }
  }
  return out;
}

Result<ContainerIndex> VmStore::LoadContainerIndex(uint16_t c) {
  VCSNAP_ASSIGN_OR_RETURN(uint32_t gen, LoadGeneration(c));
  VCSNAP_ASSIGN_OR_RETURN(ParsedIndex index, LoadIndex(c, gen));
  if (!index.has_header) {
    return Status::NotFound(Where(c) + ": no such container");
  }
  return ContainerIndex{c, gen, std::move(index.entries)};
}

Status VmStore::ScanGroups(const ContainerIndex& index, size_t begin,
                           size_t end, const GroupScan& scan) {
  const std::vector<IndexEntry>& es = index.entries;
  if (begin > end || end > es.size()) {
    return Status::InvalidArgument(
        Where(index.container) + ": scan of groups " + std::to_string(begin) +
        ".." + std::to_string(end) + " of " + std::to_string(es.size()));
  }
  std::vector<uint8_t> wanted(end - begin, 1);
  if (scan.want) {
    for (size_t k = begin; k < end; ++k) wanted[k - begin] = scan.want(es[k]);
  }
  const uint16_t c = index.container;
  GroupView view;
  for (size_t i = begin; i < end;) {
    if (!wanted[i - begin]) {
      ++i;
      continue;
    }
    // A run of wanted groups back to back in one block: one read.
    size_t j = i + 1;
    uint64_t span = es[i].length;
    while (j < end && wanted[j - begin] && es[j].block == es[i].block &&
           es[j].offset == es[j - 1].offset + es[j - 1].length &&
           span + es[j].length <= scan.read_bytes) {
      span += es[j].length;
      ++j;
    }
    const std::string block = BlockName(vm_, c, index.generation, es[i].block);
    Result<Bytes> bytes = backend_->Read(block, es[i].offset, span);
    for (size_t k = i; k < j; ++k) {
      const IndexEntry& e = es[k];
      const GroupPlace place = Place(c, index.generation, block, e.offset);
      if (!bytes.ok()) {
        scan.bad_group(e, bytes.status().WithContext(place.Describe()));
        continue;
      }
      const uint64_t rel = e.offset - es[i].offset;
      Status s =
          CheckHeld(place, bytes->size() > rel ? bytes->size() - rel : 0, e);
      if (s.ok()) {
        s = DecodeGroupView(ByteView(*bytes).subspan(rel, e.length), place,
                            limits(), &view);
      }
      if (s.ok()) {
        s = CheckMatches(place, view.first_cid, view.count(), view.live(), e);
      }
      if (!s.ok()) {
        scan.bad_group(e, s);
        continue;
      }
      for (uint64_t cid = e.first_cid; cid < e.end_cid(); ++cid) {
        if (view.Present(cid)) scan.chunk(cid, view.Chunk(cid));
      }
    }
    i = j;
  }
  return Status::Ok();
}

}  // namespace vcsnap
