#include "hogwild/shared_parameters.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/statvfs.h>
#include <torch/torch.h>
#include <unistd.h>

#include <atomic>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cstring>
#include <random>

#include "hogwild/error.h"

namespace bip = boost::interprocess;

namespace hogwild {
namespace {

constexpr const char* kShmDir = "/dev/shm";

std::string unique_name(const std::string& prefix) {
  static std::atomic<uint64_t> counter{0};
  std::random_device entropy;
  return fmt::format("{}-{}-{}-{:08x}", prefix, ::getpid(), counter++, entropy());
}

}  // namespace

struct SharedSegment::Mapping {
  bip::shared_memory_object object;
  bip::mapped_region region;
};

std::size_t shm_free_bytes() {
  struct statvfs info {};
  if (::statvfs(kShmDir, &info) != 0) throw Error(system_error_text(kShmDir, errno));
  return std::size_t(info.f_bavail) * std::size_t(info.f_frsize);
}

SharedSegment::SharedSegment(std::size_t bytes, const std::string& name_prefix)
    : name_(unique_name(name_prefix)), size_(bytes) {
  if (bytes == 0) throw Error("a shared segment needs at least one byte");
  const std::size_t free_bytes = shm_free_bytes();
  if (free_bytes < bytes) {
    throw Error(
        fmt::format("{} has {} bytes free but the parameters need {}: free some space "
                    "there (ls -la {}) or enlarge it (mount -o remount,size=... {})",
                    kShmDir, free_bytes, bytes, kShmDir, kShmDir));
  }
  mapping_ = std::make_unique<Mapping>();
  try {
    bip::permissions owner_only(0600);
    mapping_->object =
        bip::shared_memory_object(bip::create_only, name_.c_str(), bip::read_write, owner_only);
    linked_ = true;
    mapping_->object.truncate(bip::offset_t(bytes));
    // truncate() alone reserves nothing on tmpfs: reserve the pages now so that running out
    // of room is an error here instead of a SIGBUS in a worker later.
    const int rc = ::posix_fallocate(mapping_->object.get_mapping_handle().handle, 0, off_t(bytes));
    if (rc != 0) {
      throw Error(
          system_error_text(fmt::format("reserving {} bytes in {}/{}", bytes, kShmDir, name_), rc));
    }
    mapping_->region = bip::mapped_region(mapping_->object, bip::read_write);
  } catch (const bip::interprocess_exception& e) {
    unlink();
    throw Error(fmt::format("shared memory segment {}/{}: {}", kShmDir, name_, e.what()));
  } catch (...) {
    unlink();
    throw;
  }
}

SharedSegment::~SharedSegment() { unlink(); }

void* SharedSegment::data() const { return mapping_->region.get_address(); }

void SharedSegment::unlink() {
  if (!linked_) return;
  bip::shared_memory_object::remove(name_.c_str());
  linked_ = false;
}

SharedParameters::SharedParameters(torch::nn::Module& module, const std::string& name_prefix) {
  std::size_t offset = 0;
  auto parameters = module.named_parameters(/*recurse=*/true);
  for (const auto& item : parameters) {
    const torch::Tensor& p = item.value();
    if (p.scalar_type() != torch::kFloat32 || !p.is_cpu()) {
      throw Error(fmt::format("parameter {} is not a CPU float32 tensor", item.key()));
    }
    ParameterSlot slot{item.key(), p.sizes().vec(), offset, std::size_t(p.numel()) * sizeof(float)};
    layout_.push_back(slot);
    offset = (offset + slot.bytes + kCacheLine - 1) / kCacheLine * kCacheLine;
  }
  segment_ =
      std::make_unique<SharedSegment>(std::max<std::size_t>(offset, kCacheLine), name_prefix);

  auto* base = static_cast<char*>(segment_->data());
  std::size_t i = 0;
  for (auto& item : parameters) {
    torch::Tensor& p = item.value();
    const ParameterSlot& slot = layout_[i++];
    float* target = reinterpret_cast<float*>(base + slot.offset);
    std::memcpy(target, p.contiguous().data_ptr<float>(), slot.bytes);
    // No deleter: the segment owns the memory and outlives every use of the module.
    torch::NoGradGuard no_grad;
    p.set_data(torch::from_blob(target, p.sizes(), p.options()));
  }
}

void SharedParameters::check_bound(const torch::nn::Module& module, const std::string& who) const {
  const auto parameters = module.named_parameters(/*recurse=*/true);
  if (parameters.size() != layout_.size()) {
    throw Error(fmt::format("{}: the model has {} parameters, the shared segment holds {}", who,
                            parameters.size(), layout_.size()));
  }
  const auto* base = static_cast<const char*>(segment_->data());
  for (std::size_t i = 0; i < layout_.size(); ++i) {
    const torch::Tensor& p = parameters[i].value();
    const ParameterSlot& slot = layout_[i];
    const bool in_place = p.data_ptr() == base + slot.offset && p.sizes().vec() == slot.shape &&
                          p.is_contiguous() && p.scalar_type() == torch::kFloat32;
    if (!in_place) {
      throw Error(
          fmt::format("{}: parameter {} no longer lies in the shared segment (something made "
                      "a private copy: .to(), set_data() or a memory-format change); it "
                      "would train alone, not Hogwild",
                      who, slot.name));
    }
  }
}

std::size_t SharedParameters::parameter_count() const {
  std::size_t count = 0;
  for (const auto& slot : layout_) count += slot.bytes / sizeof(float);
  return count;
}

}  // namespace hogwild
