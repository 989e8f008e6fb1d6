//! A recursion guard for jq programs.
//!
//! jaq does not limit recursion, so `def f: 1 + f; f` would overflow the thread's stack and abort
//! the process. Every recursive definition (the user's and the standard library's) is rewritten
//! to check, on entry, how much stack the current evaluation has used; past the budget the call
//! fails with a jq error instead. The budget is per thread: 1 MiB by default (safe on the 2 MiB
//! stacks of spawned, tokio and rayon threads), 12 MiB on the mapping pool's 16 MiB threads.

use std::cell::Cell;

/// Default stack budget of one evaluation.
pub(crate) const DEFAULT_BUDGET: usize = 1024 * 1024;

thread_local! {
    static BASE: Cell<usize> = const { Cell::new(0) };
    static BUDGET: Cell<usize> = const { Cell::new(DEFAULT_BUDGET) };
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

/// True while the running evaluation is within the budget.
pub(crate) fn within_budget() -> bool {
    let base = BASE.with(Cell::get);
    base == 0 || base.abs_diff(stack_position()) <= budget()
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
        }
    }
}
