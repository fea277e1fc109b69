//! Process-wide memory settings for the CPU backends.
//!
//! Burn's CPU backends give every tensor operation a freshly allocated output, and the
//! activations of a VGG at 64 pixels are several MiB each. glibc's `malloc` serves
//! allocations that large with a fresh `mmap` and gives them back with `munmap` (or trims
//! them off the heap), so every operation's output is a new mapping whose every page the
//! kernel faults in and clears. Measured with `perf` on the original model's training step
//! (batch 16, 64 px, flex, 2 threads): 28 % of the time in page faults and page clearing,
//! and the step took twice as long as with freed memory kept for reuse (see
//! `docs/performance.md`).
//!
//! A library must not choose its users' allocator, so this is a function that binaries
//! call once at start-up (`gampen` and `bench_report` do). mimalloc as the global allocator
//! recovered part of the loss (1.02-1.11 s against 1.68-2.06 s for that step); glibc with
//! these settings measured fastest (0.91-0.94 s).

/// Tells glibc's `malloc` to keep freed memory for reuse: no `mmap` below 1 GiB, no heap
/// trimming below 2 GiB, one arena shared by all threads. Call it once, early in `main`,
/// before other threads start. A process then keeps the peak of its heap until it exits,
/// which for training and prediction is about the size it needs anyway.
///
/// Returns whether the settings took effect: `false` off Linux with glibc (musl, macOS,
/// Windows), where it does nothing.
pub fn retain_freed_memory() -> bool {
    imp::retain_freed_memory()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    /// Largest allocation served from the heap; larger ones are mapped on their own.
    const MMAP_THRESHOLD: libc::c_int = 1 << 30;
    /// Free memory at the top of a heap beyond which glibc returns it to the kernel.
    const TRIM_THRESHOLD: libc::c_int = libc::c_int::MAX;
    /// One arena for all threads. A thread other than the main one otherwise gets an arena
    /// of 64 MiB heaps, and an allocation that does not fit one is mapped on its own
    /// whatever the threshold above: the original model's training step, run on a pool
    /// thread ([`crate::workers::on_cpu_pool`]), took 2.0-2.6 s against 1.4 s on one
    /// thread, its activations faulted in afresh at every operation.
    const ARENAS: libc::c_int = 1;

    pub(super) fn retain_freed_memory() -> bool {
        // SAFETY: `mallopt` only changes malloc's tuning parameters, under malloc's own lock.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
                && libc::mallopt(libc::M_ARENA_MAX, ARENAS) == 1
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub(super) fn retain_freed_memory() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn takes_effect_on_glibc() {
        assert!(super::retain_freed_memory());
    }
}
