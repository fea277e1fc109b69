//! Where tensor work runs on the CPU backends.
//!
//! flex and ndarray spread each operation over rayon's global pool. Called from a thread
//! outside the pool (a program's main thread), every parallel operation queues its work for a
//! pool thread and sleeps until that thread is done: two thread wake-ups per operation. A
//! training step of the small preset is a few hundred operations on small tensors, and those
//! hand-offs cost about a tenth of it on one thread (docs/performance.md). Called from a pool
//! thread, the same operations start on the calling thread and hand out parts only to idle
//! threads.

/// Runs `f` on a thread of rayon's global pool and returns its result: one hand-off for all
/// the tensor operations inside `f` instead of one each. The calling thread waits; with any
/// backend the result is the same as calling `f` directly.
///
/// Successive calls may land on different pool threads. State that Burn keeps per thread
/// sees that: a batch norm's `RunningState` averages the pending values of every thread that
/// updated it, so a training forward pass run here must settle its update on the same thread
/// (`model.valid()` does), as the trainer's step does.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
///
/// let device = Device::flex();
/// let x = Tensor::<1>::from_floats([1.0, 2.0], &device);
/// let total = gampen::workers::on_cpu_pool(|| (x.clone() * 2.0).sum().into_scalar::<f32>());
/// assert_eq!(total, 6.0);
/// ```
pub fn on_cpu_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    // `join` called from outside the pool runs both closures on pool threads.
    rayon::join(f, || ()).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_a_pool_thread_and_returns_the_result() {
        let (index, value) = on_cpu_pool(|| (rayon::current_thread_index(), 41 + 1));
        assert!(index.is_some(), "the closure ran outside rayon's pool");
        assert_eq!(value, 42);
        let nested = on_cpu_pool(|| on_cpu_pool(rayon::current_thread_index));
        assert!(nested.is_some());
    }
}
