//! Rows, the references they are compared with, and the table.
//!
//! A row is one workload measured on one peer. Its reference is what gives the figure
//! a meaning on a noisy machine: the floor measured in the same run for workloads that
//! have one, the same peer's figure on another workload where a ratio is the point (8
//! writers against one, 1M documents against 10k), or odm-server's own figure for the
//! other servers. Only ratios taken in one run compare across runs.

use std::collections::HashMap;

use serde::Serialize;

use crate::measure::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Metric {
    #[serde(rename = "ops/s")]
    OpsPerSec,
    #[serde(rename = "docs/s")]
    DocsPerSec,
    #[serde(rename = "MB/s")]
    MbPerSec,
    /// A latency or a time per operation.
    #[serde(rename = "us")]
    Micros,
    #[serde(rename = "MB")]
    Megabytes,
}

impl Metric {
    pub fn unit(self) -> &'static str {
        match self {
            Metric::OpsPerSec => "ops/s",
            Metric::DocsPerSec => "docs/s",
            Metric::MbPerSec => "MB/s",
            Metric::Micros => "µs",
            Metric::Megabytes => "MB",
        }
    }

    /// Whether more is better (a rate) or less is (a time, a size).
    pub fn higher_is_better(self) -> bool {
        matches!(
            self,
            Metric::OpsPerSec | Metric::DocsPerSec | Metric::MbPerSec
        )
    }

    pub fn format(self, value: f64) -> String {
        match self {
            Metric::OpsPerSec | Metric::DocsPerSec => thousands(value),
            Metric::MbPerSec | Metric::Megabytes | Metric::Micros => format!("{value:.1}"),
        }
    }
}

/// A ratio with two significant digits past the point where it is small: `0.83x`,
/// `0.0021x`.
pub fn times(ratio: f64) -> String {
    let decimals = match ratio {
        r if r >= 0.1 || r <= 0.0 => 2,
        r => ((-r.log10()).ceil() as usize + 1).min(6),
    };
    format!("{ratio:.decimals$}x")
}

/// `1234567.8` as `1,234,568`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 { format!("-{out}") } else { out }
}

#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    /// What the reference is: a peer, or the same peer on another workload.
    pub of: String,
    pub value: f64,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub workload: &'static str,
    pub peer: &'static str,
    pub metric: Metric,
    /// The median of the rounds, or why the peer could not do the workload.
    pub value: Outcome,
    pub reference: Option<Reference>,
}

impl Row {
    pub fn new(workload: &'static str, peer: &'static str, metric: Metric, value: Outcome) -> Row {
        Row {
            workload,
            peer,
            metric,
            value,
            reference: None,
        }
    }

    pub fn against(mut self, of: impl Into<String>, value: f64) -> Row {
        self.reference = Some(Reference {
            of: of.into(),
            value,
        });
        self
    }

    /// The figure over its reference's (for times too: 1.2 is 20% slower).
    pub fn ratio(&self) -> Option<f64> {
        let value = *self.value.as_ref().ok()?;
        let reference = self.reference.as_ref()?;
        (reference.value > 0.0).then(|| value / reference.value)
    }
}

/// How rows without a reference get one.
pub struct Referencing<'a> {
    /// The floor: the reference of every other peer on the workloads it was measured for.
    pub floor: &'static str,
    /// Workloads compared with another workload of the same peer (`(workload, with)`).
    pub links: &'a [(&'static str, &'static str)],
    /// The peer the other servers are compared with where there is no floor.
    pub base: &'static str,
}

impl Referencing<'_> {
    pub fn apply(&self, rows: &mut [Row]) {
        let found: HashMap<(&str, &str, Metric), f64> = rows
            .iter()
            .filter_map(|r| Some(((r.workload, r.peer, r.metric), *r.value.as_ref().ok()?)))
            .collect();
        for row in rows.iter_mut().filter(|r| r.reference.is_none()) {
            let floor = found.get(&(row.workload, self.floor, row.metric));
            let link = self
                .links
                .iter()
                .find(|(w, _)| *w == row.workload)
                .and_then(|(_, with)| Some((*with, found.get(&(*with, row.peer, row.metric))?)));
            let base = found.get(&(row.workload, self.base, row.metric));
            row.reference = if row.peer == self.floor {
                None
            } else if let Some(&value) = floor {
                Some(Reference {
                    of: self.floor.to_string(),
                    value,
                })
            } else if let Some((with, &value)) = link {
                Some(Reference {
                    of: format!("same peer: {with}"),
                    value,
                })
            } else if let (Some(&value), false) = (base, row.peer == self.base) {
                Some(Reference {
                    of: self.base.to_string(),
                    value,
                })
            } else {
                None
            };
        }
    }
}

/// Gives `peer`'s rows the same workload's `reference` peer as their reference, where it
/// was measured (before [`Referencing::apply`], which leaves them as they are).
pub fn refer_to(rows: &mut [Row], peer: &str, reference: &'static str) {
    let found: HashMap<(&str, Metric), f64> = rows
        .iter()
        .filter(|r| r.peer == reference)
        .filter_map(|r| Some(((r.workload, r.metric), *r.value.as_ref().ok()?)))
        .collect();
    for row in rows.iter_mut().filter(|r| r.peer == peer) {
        if let Some(&value) = found.get(&(row.workload, row.metric)) {
            row.reference = Some(Reference {
                of: reference.to_string(),
                value,
            });
        }
    }
}

/// Rows by workload number, each workload's variants in the order they were first
/// measured, and peers in the order they ran: the table reads one workload at a time.
pub fn order(rows: &mut [Row]) {
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        first_seen.entry(row.workload).or_insert(i);
    }
    rows.sort_by_key(|r| (number(r.workload), first_seen[r.workload]));
}

/// The number a workload's label starts with ("10. ODM ..." is 10).
pub fn number(workload: &str) -> u32 {
    workload
        .split('.')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(u32::MAX)
}

pub fn print(rows: &[Row]) {
    println!(
        "{:<46} {:<32} {:<7} {:>13} {:>13}  {:<52} {:>7}",
        "workload", "peer", "metric", "median", "reference", "(of)", "ratio"
    );
    let mut last = "";
    for row in rows {
        let workload = if row.workload == last {
            ""
        } else {
            row.workload
        };
        last = row.workload;
        let (median, reason) = match &row.value {
            Ok(v) => (row.metric.format(*v), String::new()),
            Err(why) => ("unsupported".to_string(), format!("  {why}")),
        };
        let (reference, of) = match &row.reference {
            Some(r) => (row.metric.format(r.value), r.of.as_str()),
            None => ("-".to_string(), ""),
        };
        let ratio = row.ratio().map_or_else(|| "-".to_string(), times);
        println!(
            "{:<46} {:<32} {:<7} {:>13} {:>13}  {:<52} {:>7}{reason}",
            workload,
            row.peer,
            row.metric.unit(),
            median,
            reference,
            of,
            ratio
        );
    }
}
