//! Medians, ratios and the table.

/// One workload measured on one peer.
#[derive(Debug, Clone)]
pub struct Row {
    pub workload: &'static str,
    pub peer: &'static str,
    /// Operations per second: the median of the rounds.
    pub rate: f64,
    /// The floor's rate for the same message sizes, measured in the same run.
    pub floor: Option<f64>,
}

/// The median of some rates.
pub fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

pub fn print(rows: &[Row]) {
    println!(
        "{:<44} {:<22} {:>14} {:>14} {:>8}",
        "workload", "peer", "ops/s", "floor ops/s", "ratio"
    );
    for row in rows {
        let (floor, ratio) = match row.floor {
            Some(f) => (format!("{f:.0}"), format!("{:.2}x", row.rate / f)),
            None => ("-".to_string(), "-".to_string()),
        };
        println!(
            "{:<44} {:<22} {:>14.0} {:>14} {:>8}",
            row.workload, row.peer, row.rate, floor, ratio
        );
    }
}
