// The parameter store: one POSIX shared-memory segment (Boost.Interprocess) holding every
// parameter of a model, each bound back into the model with torch::from_blob. Processes
// forked afterwards inherit the mapping, so they all read and write the same floats.
// This is the only file that knows about Boost.Interprocess.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace hogwild {

// Bytes each parameter's start is aligned to: one cache line, so no two tensors share a line.
inline constexpr std::size_t kCacheLine = 64;

// A named POSIX shared-memory segment, created 0600 under a unique name, with its pages
// reserved up front (so a full /dev/shm is an error now, not a SIGBUS later) and mapped.
// Destroying it unmaps it and unlinks the name if that has not happened yet.
class SharedSegment {
 public:
  explicit SharedSegment(std::size_t bytes, const std::string& name_prefix = "hogwild");
  ~SharedSegment();
  SharedSegment(const SharedSegment&) = delete;
  SharedSegment& operator=(const SharedSegment&) = delete;

  void* data() const;
  std::size_t size() const { return size_; }
  // The name under /dev/shm (no leading slash).
  const std::string& name() const { return name_; }
  bool linked() const { return linked_; }
  // Removes the name; this mapping, and those of processes forked from it, stay valid.
  // Call it as soon as every process that needs the segment has it mapped.
  void unlink();

 private:
  struct Mapping;
  std::string name_;
  std::size_t size_ = 0;
  bool linked_ = false;
  std::unique_ptr<Mapping> mapping_;
};

// Free bytes in the file system that holds POSIX shared memory; throws Error if unknown.
std::size_t shm_free_bytes();

// Where one parameter lives in the segment.
struct ParameterSlot {
  std::string name;
  std::vector<int64_t> shape;
  std::size_t offset = 0;  // bytes from the segment's start, a multiple of kCacheLine
  std::size_t bytes = 0;
};

// Moves every parameter of `module` into one SharedSegment and rebinds the module's
// parameters onto it. The module must not be used after this object is destroyed: its
// parameters point into the mapping.
class SharedParameters {
 public:
  explicit SharedParameters(torch::nn::Module& module, const std::string& name_prefix = "hogwild");

  const std::vector<ParameterSlot>& layout() const { return layout_; }
  SharedSegment& segment() { return *segment_; }
  // Throws Error naming the first parameter of `module` that no longer lies where this
  // object put it (its slot, its shape, contiguous). A .to(), set_data() or memory-format
  // change on a bound parameter silently allocates private memory; the process would then
  // train alone, with no error and no Hogwild. `who` starts the message ("worker 1").
  void check_bound(const torch::nn::Module& module, const std::string& who) const;
  std::size_t parameter_count() const;

 private:
  std::vector<ParameterSlot> layout_;
  std::unique_ptr<SharedSegment> segment_;
};

}  // namespace hogwild
