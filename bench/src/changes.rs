//! Workload 9: how long a change stream takes to deliver an insert while eight writers
//! load the server. Each document carries the time it was sent (nanoseconds since an
//! `Instant` the writers and the watcher share); the watcher notes when its event
//! arrives. The watcher has a thread, runtime and connection of its own, so the
//! writers' tasks do not delay it on the client side.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bson::{Document, doc};
use futures::StreamExt;
use tokio::sync::oneshot;

use crate::Args;
use crate::concurrency::TASKS;
use crate::driver::{DATABASE, clear, connect};
use crate::measure::{Outcome, bounded, failed, for_time, median, quantile};
use crate::report::{Metric, Row};

pub const MEDIAN: &str = "9. change stream delay, load 8 (median)";
pub const P99: &str = "9. change stream delay, load 8 (p99)";

/// How long the watcher may take to see the last event after the writers stop.
const DRAIN: Duration = Duration::from_secs(5);

pub async fn run(args: &Args, peer: &'static str, uri: &str) -> Vec<Row> {
    let limit = args.duration() + Duration::from_secs(30);
    match bounded(limit, delays(args, uri)).await {
        Ok(mut micros) if !micros.is_empty() => {
            micros.sort_by(f64::total_cmp);
            let p99 = quantile(&micros, 0.99);
            vec![
                Row::new(MEDIAN, peer, Metric::Micros, Ok(median(micros))),
                Row::new(P99, peer, Metric::Micros, Ok(p99)),
            ]
        }
        outcome => {
            let why = outcome.err().unwrap_or_else(|| "no event arrived".into());
            vec![
                Row::new(MEDIAN, peer, Metric::Micros, Err(why.clone())),
                Row::new(P99, peer, Metric::Micros, Err(why)),
            ]
        }
    }
}

/// Every event's delay in µs.
async fn delays(args: &Args, uri: &str) -> Outcome<Vec<f64>> {
    let client = connect(uri, TASKS as u32).await?;
    let events = client.database(DATABASE).collection::<Document>("events");
    clear(&events).await;
    events
        .insert_one(doc! {"_id": -1_i64, "t": 0_i64})
        .await
        .map_err(failed)?;
    let base = Instant::now();
    let (ready, watching) = oneshot::channel();
    let (stop, stopped) = oneshot::channel();
    let (report, delays) = oneshot::channel();
    let uri = uri.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the watcher's runtime");
        let _ = report.send(runtime.block_on(watch(uri, base, ready, stopped)));
    });
    if watching.await.is_err() {
        return delays.await.map_err(failed)?;
    }
    let sent = AtomicUsize::new(0);
    let outcome = for_time(TASKS, args.duration(), |task, i| {
        let (events, sent) = (&events, &sent);
        let id = (task as i64) << 40 | i as i64;
        async move {
            let t = base.elapsed().as_nanos() as i64;
            events.insert_one(doc! {"_id": id, "t": t}).await?;
            sent.fetch_add(1, Ordering::Relaxed);
            Ok::<(), mongodb::error::Error>(())
        }
    })
    .await;
    let _ = stop.send(sent.load(Ordering::Relaxed));
    outcome?;
    delays.await.map_err(failed)?
}

/// Watches `events` until it has seen as many inserts as the writers report sending.
async fn watch(
    uri: String,
    base: Instant,
    ready: oneshot::Sender<()>,
    mut stopped: oneshot::Receiver<usize>,
) -> Outcome<Vec<f64>> {
    let client = connect(&uri, 1).await?;
    let events = client.database(DATABASE).collection::<Document>("events");
    let mut stream = events.watch().await.map_err(failed)?;
    let _ = ready.send(());
    let mut micros = Vec::new();
    let mut expected = None;
    let mut deadline = None;
    loop {
        if expected.is_some_and(|n| micros.len() >= n) {
            return Ok(micros);
        }
        let next = tokio::select! {
            sent = &mut stopped, if expected.is_none() => {
                expected = Some(sent.unwrap_or(0));
                deadline = Some(tokio::time::Instant::now() + DRAIN);
                continue;
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(far)), if deadline.is_some() => {
                return Ok(micros);
            }
            next = stream.next() => next,
        };
        let arrived = base.elapsed().as_nanos() as i64;
        match next {
            Some(Ok(event)) => {
                if let Some(t) = event.full_document.and_then(|d| d.get_i64("t").ok()) {
                    micros.push((arrived - t) as f64 / 1e3);
                }
            }
            Some(Err(e)) => return Err(failed(e)),
            None => return Ok(micros),
        }
    }
}

fn far() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(3600)
}
