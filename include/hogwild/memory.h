// How much memory a run may still take, checked before the big allocations so that a data
// set too large for this machine is a clear error instead of an OOM kill or a bad_alloc.
#pragma once

#include <cstddef>
#include <string>

namespace hogwild {

// The smaller of the system's MemAvailable and what this process's RLIMIT_DATA and
// RLIMIT_AS (ulimit -d, ulimit -v) leave above its current use.
std::size_t available_memory_bytes();

// Throws Error when `bytes` for `what` exceed available_memory_bytes(); the message names
// both amounts and suggests `hint`.
void require_memory(std::size_t bytes, const std::string& what, const std::string& hint);

// Keeps glibc from serving each step's large tensors with fresh mmap()s (and their page
// faults). Call it before fork(), so that every worker inherits it.
void keep_large_allocations_in_heap();

}  // namespace hogwild
