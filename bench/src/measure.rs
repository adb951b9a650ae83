//! How a figure is taken: rounds of a fixed number of operations (or of a fixed time),
//! the median kept. A failure is carried as the reason the peer cannot do the workload,
//! so that a server refusing a command is reported in the table instead of ending the
//! run, and a time limit turns a server that stops answering into such a failure.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::Args;

/// A measured figure, or why the peer could not do the workload.
pub type Outcome<T = f64> = Result<T, String>;

/// The reason a workload failed, short enough for a table cell.
pub fn failed(e: impl Display) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The value below which `q` (0..1) of `sorted` lie.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Longer than any round takes: a server past it has stopped answering.
const ROUND_LIMIT: Duration = Duration::from_secs(180);

/// `round(r)` for each of `rounds` rounds; the median, or the first failure.
pub async fn median_of<F, Fut>(rounds: usize, mut round: F) -> Outcome
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let mut values = Vec::with_capacity(rounds);
    for r in 0..rounds {
        values.push(bounded(ROUND_LIMIT, round(r)).await?);
    }
    Ok(median(values))
}

/// [`median_of`] for work that does not wait on a server (SQLite in this process).
pub fn median_of_sync<E>(
    rounds: usize,
    mut round: impl FnMut(usize) -> Result<f64, E>,
) -> Result<f64, E> {
    let mut values = Vec::with_capacity(rounds);
    for r in 0..rounds {
        values.push(round(r)?);
    }
    Ok(median(values))
}

/// `op(i)` for i in 0..n, one after the other, stopped early past `budget` (a peer
/// that takes 40 ms a round trip would take minutes): operations per second.
pub async fn sequence<F, Fut, E>(n: usize, budget: Duration, mut op: F) -> Outcome
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let started = Instant::now();
    let mut done = 0;
    while done < n && (done == 0 || started.elapsed() < budget) {
        op(done).await.map_err(failed)?;
        done += 1;
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

/// Rounds of `n` operations (each within the run's budget), `op` given a number unique
/// across rounds (an `_id` to insert, say): the median rate in operations per second.
pub async fn repeated<F, Fut, E>(args: &Args, n: usize, mut op: F) -> Outcome
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let rounds = args.rounds();
    let mut values = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let round = sequence(n, args.budget(), |i| op(r * n + i));
        values.push(bounded(ROUND_LIMIT, round).await?);
    }
    Ok(median(values))
}

/// `tasks` loops of `op(task, i)` run together for `time`: operations per second of all.
pub async fn for_time<F, Fut, E>(tasks: usize, time: Duration, op: F) -> Outcome
where
    F: Fn(usize, u64) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let started = Instant::now();
    let op = &op;
    let counts = futures::future::try_join_all((0..tasks).map(|task| async move {
        let mut done = 0u64;
        while started.elapsed() < time {
            op(task, done).await.map_err(failed)?;
            done += 1;
        }
        Ok::<u64, String>(done)
    }))
    .await?;
    Ok(counts.iter().sum::<u64>() as f64 / started.elapsed().as_secs_f64())
}

/// `work`, failed if it takes longer than `limit`.
pub async fn bounded<T>(limit: Duration, work: impl Future<Output = Outcome<T>>) -> Outcome<T> {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", limit.as_secs())))
}
