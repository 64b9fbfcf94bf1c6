//! Two cores on one mini-batch: a helper thread computes the second half of every batch
//! while the caller computes the first.
//!
//! A batch is always split the same way (at a whole block of samples) and the two halves'
//! gradients are added in the same order, so the result does not depend on the number of
//! threads: with one, the caller computes both halves itself and gets the same bits.
//! The helper waits for work by spinning briefly, then yielding, because a batch of a small
//! network takes microseconds, less than waking a sleeping thread. On a shared machine the
//! helper's core may be busy with another program: a posted half is claimed by whichever
//! thread gets to it first, so the caller, done with its own half, takes the helper's half
//! back instead of waiting for a thread that is not running (two threads then cost no more
//! than one). Either thread computes a half the same way: the same bits.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

use nn_core::{LayerSpec, Loss};

use crate::data::Dataset;
use crate::engine::{Engine, LANES};

/// How each sample of a batch is treated in training, beyond its inputs and targets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SampleRules {
    /// Dropout rate of each layer's outputs (missing or 0: none).
    pub dropout: Vec<f32>,
    /// The seed of the dropout masks.
    pub dropout_seed: u64,
    /// The loss weight of each class, by label (empty: every sample weighs 1).
    pub class_weights: Vec<f32>,
}

impl SampleRules {
    /// True if some layer drops outputs.
    pub fn has_dropout(&self) -> bool {
        self.dropout.iter().any(|&r| r > 0.0)
    }

    /// True if samples need a key or a weight of their own (dropout or class weights); a
    /// plain run computes neither.
    pub fn per_sample(&self) -> bool {
        self.has_dropout() || !self.class_weights.is_empty()
    }
}

/// One half of a batch: its samples, engine, gradients and loss.
#[derive(Debug)]
pub struct Half {
    /// The half's samples, as indices into the training data.
    pub samples: Vec<usize>,
    /// The gradient step the batch belongs to (from 1; it keys the dropout masks).
    pub step: u64,
    engine: Engine,
    /// Gradients of the half's summed loss.
    pub grads: Vec<f32>,
    /// The half's summed loss.
    pub loss: f32,
}

impl Half {
    fn new(
        specs: &[LayerSpec],
        offsets: &[usize],
        capacity: usize,
        params: usize,
        rules: &SampleRules,
    ) -> Half {
        let mut engine = Engine::new(specs, offsets, capacity);
        engine.set_dropout(&rules.dropout);
        if !rules.class_weights.is_empty() {
            engine.weight_rows();
        }
        Half {
            samples: Vec::with_capacity(capacity),
            step: 0,
            engine,
            grads: vec![0.0; params],
            loss: 0.0,
        }
    }

    /// Loads the half's samples from `data`, then runs forward and backward.
    fn compute(&mut self, data: &Dataset, params: &[f32], loss: Loss, rules: &SampleRules) {
        self.loss = 0.0;
        let rows = self.samples.len();
        if rows == 0 {
            self.grads.iter_mut().for_each(|g| *g = 0.0);
            return;
        }
        let per_sample = rules.per_sample();
        for (row, &i) in self.samples.iter().enumerate() {
            self.engine.set_sample(row, data.x(i), data.y(i));
            if per_sample {
                let weight = data
                    .labels
                    .get(i)
                    .and_then(|&label| rules.class_weights.get(label))
                    .copied()
                    .unwrap_or(1.0);
                let key = crate::dropout::row_key(rules.dropout_seed, self.step, i);
                self.engine.set_row(row, key, weight);
            }
        }
        self.engine.forward(params, rows);
        self.loss = self.engine.backward(params, rows, loss, &mut self.grads);
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
pub struct Shared<'d> {
    data: &'d Dataset,
    /// This epoch's augmented copy of `data`, if augmentation is on.
    augmented: RwLock<Option<Dataset>>,
    /// The parameters: read by both halves, written by the optimizer between batches.
    pub params: RwLock<Vec<f32>>,
    helper: Mutex<Half>,
    /// Halves posted to the helper so far (the latest one's ticket).
    posted: AtomicUsize,
    /// The latest ticket claimed, by the helper or taken back by the caller.
    claimed: AtomicUsize,
    /// The latest ticket the helper has finished.
    finished: AtomicUsize,
    stop: AtomicBool,
    loss: Loss,
    rules: SampleRules,
}

impl<'d> Shared<'d> {
    /// Shared state for training `params` of a network of `specs` (parameters at `offsets`)
    /// on `data` with batches of up to `batch` samples treated by `rules`; also returns the
    /// caller's half.
    pub fn new(
        data: &'d Dataset,
        specs: &[LayerSpec],
        offsets: &[usize],
        params: Vec<f32>,
        batch: usize,
        loss: Loss,
        rules: SampleRules,
    ) -> (Shared<'d>, Half) {
        // A short last batch may split differently from a full one: both halves take any.
        let n = params.len();
        let own = Half::new(specs, offsets, batch, n, &rules);
        let helper = Half::new(specs, offsets, batch, n, &rules);
        let shared = Shared {
            data,
            augmented: RwLock::new(None),
            params: RwLock::new(params),
            helper: Mutex::new(helper),
            posted: AtomicUsize::new(0),
            claimed: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            loss,
            rules,
        };
        (shared, own)
    }

    /// Sets the data the next batches read (`None`: the original training data).
    pub fn set_augmented(&self, data: Option<Dataset>) {
        *self.augmented.write().unwrap_or_else(PoisonError::into_inner) = data;
    }

    /// The helper's half, to give it its samples or read its results.
    pub fn helper(&self) -> MutexGuard<'_, Half> {
        self.helper.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Computes both halves: `own` here, the helper's on the helper thread if `threaded`
    /// (then [`Shared::serve`] must be running), else here after `own`.
    pub fn compute(&self, own: &mut Half, threaded: bool) {
        let helper_has_work = !self.helper().samples.is_empty();
        let ticket = if threaded && helper_has_work {
            self.posted.fetch_add(1, Ordering::AcqRel) + 1
        } else {
            0
        };
        {
            let params = self.params.read().unwrap_or_else(PoisonError::into_inner);
            let augmented = self.augmented.read().unwrap_or_else(PoisonError::into_inner);
            let data = augmented.as_ref().unwrap_or(self.data);
            own.compute(data, &params, self.loss, &self.rules);
            if ticket == 0 || self.claim(ticket) {
                self.helper().compute(data, &params, self.loss, &self.rules);
                return;
            }
        }
        wait_until(|| self.finished.load(Ordering::Acquire) >= ticket);
    }

    /// Claims posted half `ticket` for the calling thread; false if the other thread has.
    fn claim(&self, ticket: usize) -> bool {
        self.claimed
            .compare_exchange(ticket - 1, ticket, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
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
            if !self.claim(done) {
                continue; // the caller took it back
            }
            {
                let params = self.params.read().unwrap_or_else(PoisonError::into_inner);
                let augmented = self.augmented.read().unwrap_or_else(PoisonError::into_inner);
                self.helper().compute(
                    augmented.as_ref().unwrap_or(self.data),
                    &params,
                    self.loss,
                    &self.rules,
                );
            }
            self.finished.store(done, Ordering::Release);
        }
    }

    /// Ends [`Shared::serve`].
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// A guard that calls [`Shared::stop`] when dropped, so that the helper also ends when
    /// the caller unwinds from a panic (else the scope would wait for it forever).
    pub fn stop_on_drop(&self) -> StopOnDrop<'_, 'd> {
        StopOnDrop(self)
    }
}

/// Stops the helper when dropped (see [`Shared::stop_on_drop`]).
#[derive(Debug)]
pub struct StopOnDrop<'s, 'd>(&'s Shared<'d>);

impl Drop for StopOnDrop<'_, '_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Spins until `ready`, yielding the core after a short while (so an oversubscribed machine,
/// e.g. tests running in parallel, is not starved by waiting threads).
fn wait_until(ready: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !ready() {
        if spins < 500 {
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
