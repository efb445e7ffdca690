#include "recipe/recipe_pack.h"

#include <algorithm>

#include "recipe/names.h"

namespace vcsnap {

std::string RecipeIdentity(const std::string& pack_name, uint32_t offset) {
  return pack_name + "@" + std::to_string(offset);
}

RecipePackWriter::RecipePackWriter(Backend* backend, std::string vm,
                                   uint32_t snapshot_id, const RepoKeys* keys,
                                   uint64_t pack_bytes)
    : backend_(backend),
      vm_(std::move(vm)),
      snapshot_id_(snapshot_id),
      keys_(keys),
      pack_bytes_(std::min(pack_bytes, backend->max_object_size())) {}

Result<SegmentRecipeRef> RecipePackWriter::Add(
    const std::vector<RecipeEntry>& entries) {
  // One record is at most ~45 B per entry; a pack always takes at least one.
  const uint64_t estimate = 32 + kSealOverhead + 57ull * entries.size();
  if (!buffer_.empty() && buffer_.size() + estimate > pack_bytes_) {
    VCSNAP_RETURN_IF_ERROR(FlushPack());
  }
  // Room for a whole pack at once: growing by doubling held the old and the
  // new copy together (1.5x the pack at its last growth); pages of the
  // room that are never written cost no memory.
  if (buffer_.capacity() == 0) buffer_.reserve(pack_bytes_);
  const std::string name = RecipePackName(vm_, snapshot_id_, pack_);
  const uint32_t offset = static_cast<uint32_t>(buffer_.size());
  const std::string identity = RecipeIdentity(name, offset);
  Bytes record = EncodeSegmentRecipe(entries, identity);
  if (keys_ != nullptr)
    record = Seal(keys_->metadata, AsBytes(identity), record);
  if (buffer_.size() + record.size() > backend_->max_object_size()) {
    return Status::InvalidArgument("segment recipe of " +
                                   std::to_string(record.size()) +
                                   " bytes does not fit in a pack");
  }
  buffer_.insert(buffer_.end(), record.begin(), record.end());
  return SegmentRecipeRef{snapshot_id_, pack_, offset,
                          static_cast<uint32_t>(record.size())};
}

Status RecipePackWriter::FlushPack() {
  if (buffer_.empty()) return Status::Ok();
  VCSNAP_RETURN_IF_ERROR(
      backend_->Put(RecipePackName(vm_, snapshot_id_, pack_), buffer_));
  bytes_written_ += buffer_.size();
  ++packs_written_;
  ++pack_;
  buffer_.clear();
  return Status::Ok();
}

Status RecipePackWriter::Finish() { return FlushPack(); }

RecipeReader::RecipeReader(Backend* backend, std::string vm,
                           uint64_t segment_size, const RepoKeys* keys,
                           size_t cached_packs)
    : backend_(backend),
      vm_(std::move(vm)),
      segment_size_(segment_size),
      keys_(keys),
      cache_(std::max<size_t>(cached_packs, 1)) {}

Status RecipeReader::LoadPack(const SegmentRecipeRef& ref) {
  const std::string name = RecipePackName(vm_, ref.snapshot_id, ref.pack);
  {
    std::lock_guard lock(mu_);
    if (cache_.Find(name) != nullptr) return Status::Ok();
  }
  Result<Bytes> got = backend_->Get(name);
  if (!got.ok()) {
    return got.status().WithContext("VM " + vm_ + ": recipe pack");
  }
  auto bytes = std::make_shared<const Bytes>(std::move(*got));
  std::lock_guard lock(mu_);
  cache_.Insert(name, std::move(bytes), 1);
  return Status::Ok();
}

Result<std::vector<RecipeEntry>> RecipeReader::Read(
    const SegmentRecipeRef& ref) {
  const std::string name = RecipePackName(vm_, ref.snapshot_id, ref.pack);
  std::shared_ptr<const Bytes> pack;
  {
    std::lock_guard lock(mu_);
    if (const auto* hit = cache_.Find(name)) pack = *hit;
  }
  if (pack != nullptr) {
    if (static_cast<uint64_t>(ref.offset) + ref.length > pack->size()) {
      return Decode(name, ref, {}, pack->size());
    }
    return Decode(name, ref, ByteView(*pack).subspan(ref.offset, ref.length),
                  pack->size());
  }
  Result<Bytes> record = backend_->Read(name, ref.offset, ref.length);
  if (!record.ok()) {
    return record.status().WithContext("VM " + vm_ + ": recipe pack");
  }
  return Decode(name, ref, *record, uint64_t{ref.offset} + record->size());
}

// `record` is the ref's bytes when the pack holds all of them; `available`
// is how far the pack was found to reach.
Result<std::vector<RecipeEntry>> RecipeReader::Decode(
    const std::string& name, const SegmentRecipeRef& ref, ByteView record,
    uint64_t available) {
  if (static_cast<uint64_t>(ref.offset) + ref.length > available ||
      record.size() != ref.length) {
    return Status::Corruption("VM " + vm_ + ": segment recipe at " + name +
                              "@" + std::to_string(ref.offset) + "+" +
                              std::to_string(ref.length) +
                              " lies past the end of the pack (it ends at " +
                              std::to_string(available) + ")");
  }
  const std::string identity = RecipeIdentity(name, ref.offset);
  Bytes opened;
  if (keys_ != nullptr) {
    if (record.size() < kSealOverhead) {
      return Status::Corruption("VM " + vm_ + ": " + identity +
                                ": sealed segment recipe too short");
    }
    opened.resize(record.size() - kSealOverhead);
    Status s = Open(keys_->metadata, AsBytes(identity), record, opened.data(),
                    "VM " + vm_ + ": segment recipe " + identity);
    if (!s.ok()) return s;
    record = opened;
  }
  Result<std::vector<RecipeEntry>> entries =
      DecodeSegmentRecipe(record, identity, segment_size_);
  if (!entries.ok()) return entries.status().WithContext("VM " + vm_);
  return entries;
}

}  // namespace vcsnap
