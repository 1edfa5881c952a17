//! What an agent does on each run: a [`Job`] computes its calls when the run is due (a DCA amount from a price, a
//! payout from a balance), or skips the run, or says it is finished.

use std::future::Future;

use alloy::primitives::Address;

use crate::{BoxError, bindings::Call};

/// What a run knows when its calls are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunContext {
    /// The run's number if it succeeds (1-based: successful runs so far, plus one).
    pub run: u64,
    /// The chain time (the latest block's timestamp).
    pub now: u64,
    /// The chain time of the last successful run.
    pub last_run: Option<u64>,
    /// The account the agent acts for.
    pub account: Address,
}

/// What a job wants from one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send these calls as one batch.
    Run(Vec<Call>),
    /// Nothing to do this time: the next run is one interval later.
    Skip,
    /// The job is done: the agent stops for good ([`super::StopReason::Finished`]).
    Finish,
}

/// A job: the calls of each run, computed when the run is due.
///
/// A fixed batch is a `Vec<Call>`; a closure computes one with [`from_fn`]; anything that reads a chain or a price
/// feed implements the trait (its future must be `Send`, so an agent can run on a multi-threaded runtime).
///
/// ```
/// use alloy::primitives::{Address, U256};
/// use keyward::{agent::{RunContext, Step, from_fn}, bindings::Call};
///
/// // Dollar-cost averaging that buys a little more each run: 100, 200, 300 wei, then stops.
/// let shop = Address::repeat_byte(0x5e);
/// let job = from_fn(move |ctx: &RunContext| {
///     if ctx.run > 3 {
///         return Ok(Step::Finish);
///     }
///     Ok(Step::Run(vec![Call { to: shop, value: U256::from(100 * ctx.run), data: Default::default() }]))
/// });
/// ```
pub trait Job: Send + Sync {
    /// The calls of the run described by `ctx`. An error is reported as a failed attempt
    /// ([`crate::Error::Job`]) and retried on the next tick.
    fn step(&self, ctx: &RunContext) -> impl Future<Output = Result<Step, BoxError>> + Send;
}

/// The same calls on every run.
impl Job for Vec<Call> {
    async fn step(&self, _: &RunContext) -> Result<Step, BoxError> {
        Ok(Step::Run(self.clone()))
    }
}

/// A job computed by a closure ([`from_fn`]).
#[derive(Clone, Debug)]
pub struct FnJob<F>(F);

/// A job whose calls `f` computes from the run's [`RunContext`].
pub fn from_fn<F>(f: F) -> FnJob<F>
where
    F: Fn(&RunContext) -> Result<Step, BoxError> + Send + Sync,
{
    FnJob(f)
}

impl<F> Job for FnJob<F>
where
    F: Fn(&RunContext) -> Result<Step, BoxError> + Send + Sync,
{
    async fn step(&self, ctx: &RunContext) -> Result<Step, BoxError> {
        (self.0)(ctx)
    }
}
