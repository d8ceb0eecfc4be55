// The process's allocator policy: memory the run frees stays mapped for its next use (glibc malloc).
#pragma once

namespace manyworlds {

// Tells glibc's malloc to serve blocks up to 32 MiB (the largest threshold it accepts) from its heap
// and never to return the heap's free top to the system, so that buffers freed and allocated again
// every iteration (the sampler's scores and rows, ~32 MB per iteration of the default job on one
// rank) reuse pages already mapped instead of faulting fresh ones in (12 us per 4 KiB page on a VM
// measured in docs/performance.md). Peak memory grows little (the default job: 659 -> 675 MB), but what
// the process has mapped stays mapped until it ends.
// Call it before the first allocation that matters. Returns false, changing nothing harmful, if
// malloc refuses a setting (it then keeps its defaults: only page faults cost more; AddressSanitizer's
// allocator, which replaces glibc's, refuses them).
bool keep_freed_memory();

}  // namespace manyworlds
