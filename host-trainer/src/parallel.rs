//! Two cores on one mini-batch: a helper thread computes the second half of every batch
//! while the caller computes the first.
//!
//! A batch is always split the same way (at a whole block of samples) and the two halves'
//! gradients are added in the same order, so the result does not depend on how many cores
//! there are: with one core, the caller computes both halves itself and gets the same bits.
//! The helper waits for work by spinning (then yielding), because a batch of a small network
//! takes microseconds, less than waking a sleeping thread.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

use nn_core::{LayerSpec, Loss};

use crate::engine::{Engine, LANES};

/// One half of a batch: its engine, gradients and loss.
#[derive(Debug)]
pub struct Half {
    engine: Engine,
    /// Gradients of the half's summed loss.
    pub grads: Vec<f32>,
    /// Samples loaded.
    pub rows: usize,
    /// The half's summed loss.
    pub loss: f32,
}

impl Half {
    fn new(specs: &[LayerSpec], offsets: &[usize], capacity: usize, params: usize) -> Half {
        Half {
            engine: Engine::new(specs, offsets, capacity),
            grads: vec![0.0; params],
            rows: 0,
            loss: 0.0,
        }
    }

    /// Loads `samples` (feature and target slices) as this half's batch.
    pub fn load<'d>(&mut self, samples: impl Iterator<Item = (&'d [f32], &'d [f32])>) {
        self.rows = 0;
        for (x, t) in samples {
            self.engine.set_sample(self.rows, x, t);
            self.rows += 1;
        }
    }

    fn compute(&mut self, params: &[f32], loss: Loss) {
        self.grads.iter_mut().for_each(|g| *g = 0.0);
        self.loss = 0.0;
        if self.rows > 0 {
            self.engine.forward(params, self.rows);
            self.loss = self.engine.backward(params, self.rows, loss, &mut self.grads);
        }
    }
}

/// Where a batch of `rows` samples is split: the first half gets whole blocks.
pub fn split_point(rows: usize) -> usize {
    if rows < 2 * LANES {
        rows
    } else {
        (rows / 2).div_ceil(LANES) * LANES
    }
}

/// The state the caller and the helper share.
#[derive(Debug)]
pub struct Shared {
    /// The parameters: read by both halves, written by the optimizer between batches.
    pub params: RwLock<Vec<f32>>,
    helper: Mutex<Half>,
    posted: AtomicUsize,
    finished: AtomicUsize,
    stop: AtomicBool,
    loss: Loss,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// Shared state for training `params` of a network of `specs` with batches of `batch`.
    pub fn new(
        specs: &[LayerSpec],
        offsets: &[usize],
        params: Vec<f32>,
        batch: usize,
        loss: Loss,
    ) -> (Shared, Half) {
        let first = split_point(batch);
        let n = params.len();
        let own = Half::new(specs, offsets, first, n);
        let helper = Half::new(specs, offsets, (batch - first).max(1), n);
        let shared = Shared {
            params: RwLock::new(params),
            helper: Mutex::new(helper),
            posted: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            loss,
        };
        (shared, own)
    }

    /// The helper's half, to load its samples or read its results.
    pub fn helper(&self) -> MutexGuard<'_, Half> {
        lock(&self.helper)
    }

    /// Computes both halves: `own` here, the helper's on the helper thread if `threaded`
    /// (then [`Shared::serve`] must be running), else here after `own`.
    pub fn compute(&self, own: &mut Half, threaded: bool) {
        let helper_has_work = self.helper().rows > 0;
        let ticket = if threaded && helper_has_work {
            self.posted.fetch_add(1, Ordering::AcqRel) + 1
        } else {
            0
        };
        {
            let params = self
                .params
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            own.compute(&params, self.loss);
            if ticket == 0 {
                self.helper().compute(&params, self.loss);
            }
        }
        if ticket != 0 {
            wait_until(|| self.finished.load(Ordering::Acquire) >= ticket);
        }
    }

    /// The helper thread's loop: computes each posted half until [`Shared::stop`].
    pub fn serve(&self) {
        let mut done = 0;
        loop {
            wait_until(|| self.posted.load(Ordering::Acquire) > done || self.stop.load(Ordering::Acquire));
            if self.posted.load(Ordering::Acquire) == done {
                return;
            }
            done += 1;
            {
                let params = self
                    .params
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                self.helper().compute(&params, self.loss);
            }
            self.finished.store(done, Ordering::Release);
        }
    }

    /// Ends [`Shared::serve`].
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Spins until `ready`, yielding the core after a while.
fn wait_until(ready: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !ready() {
        if spins < 20_000 {
            spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// True if a helper thread can run beside the caller.
pub fn two_cores() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
}
