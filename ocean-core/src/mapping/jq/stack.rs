//! A recursion guard for jq programs.
//!
//! jaq does not limit recursion, so `def f: 1 + f; f` would overflow the thread's stack and abort
//! the process. Every recursive definition (the user's and the standard library's) is rewritten
//! to check, on entry, how much stack the current evaluation has used; past the budget the call
//! fails with a jq error instead. The budget is per thread: 1 MiB by default (safe on the 2 MiB
//! stacks of spawned, tokio and rayon threads), 12 MiB on the mapping pool's 16 MiB threads.
//!
//! The same check bounds time: recursion that does not grow the stack (`def f: f; f`,
//! `[repeat(.)]`) fails once one evaluation has run for [`TIME_LIMIT`].

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Longest one evaluation may run through recursive definitions before it fails.
pub(crate) const TIME_LIMIT: Duration = Duration::from_secs(10);

/// Guard checks between two reads of the clock.
const CLOCK_EVERY: u32 = 256;

/// Default stack budget of one evaluation.
pub(crate) const DEFAULT_BUDGET: usize = 1024 * 1024;

thread_local! {
    static BASE: Cell<usize> = const { Cell::new(0) };
    static BUDGET: Cell<usize> = const { Cell::new(DEFAULT_BUDGET) };
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    static CHECKS: Cell<u32> = const { Cell::new(0) };
}

/// The current stack position (the address of a local), good enough to measure depth.
#[inline(never)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Sets this thread's budget (used by threads created with a larger stack).
pub(crate) fn set_budget(bytes: usize) {
    BUDGET.with(|b| b.set(bytes));
}

/// This thread's budget.
pub(crate) fn budget() -> usize {
    BUDGET.with(Cell::get)
}

/// True while the running evaluation is within the budget (stack and time).
pub(crate) fn within_budget() -> bool {
    let base = BASE.with(Cell::get);
    base == 0 || (base.abs_diff(stack_position()) <= budget() && !out_of_time())
}

/// True once the running evaluation has passed its deadline (the clock is read on every
/// [`CLOCK_EVERY`]th call only).
pub(crate) fn out_of_time() -> bool {
    let checks = CHECKS.with(|c| {
        let n = c.get().wrapping_add(1);
        c.set(n);
        n
    });
    checks.is_multiple_of(CLOCK_EVERY)
        && DEADLINE
            .with(Cell::get)
            .is_some_and(|deadline| Instant::now() > deadline)
}

/// True when the running evaluation has passed its deadline (reads the clock; for messages).
pub(crate) fn past_deadline() -> bool {
    DEADLINE
        .with(Cell::get)
        .is_some_and(|deadline| Instant::now() > deadline)
}

/// Marks the start of an evaluation; nested evaluations keep the outermost start.
pub(crate) struct EvalScope {
    outermost: bool,
}

impl EvalScope {
    /// Records the current stack position as the base of this evaluation.
    pub(crate) fn enter() -> Self {
        let outermost = BASE.with(|b| {
            if b.get() == 0 {
                b.set(stack_position());
                DEADLINE.with(|d| d.set(Some(Instant::now() + TIME_LIMIT)));
                true
            } else {
                false
            }
        });
        Self { outermost }
    }
}

impl Drop for EvalScope {
    fn drop(&mut self) {
        if self.outermost {
            BASE.with(|b| b.set(0));
            DEADLINE.with(|d| d.set(None));
        }
    }
}
