//! The chart: each workload's rows as horizontal bars of their ratio to their reference
//! (one bar a peer), on a log scale drawn from the 1x line, so that 0.5x and 2x are the
//! same length either side. Hand-written SVG text: nothing to install to draw it.

use std::fmt::Write;
use std::path::Path;

use crate::report::{Row, times};

const WIDTH: f64 = 1000.0;
/// Where the bars start: the labels are left of it.
const PLOT_LEFT: f64 = 440.0;
const PLOT_RIGHT: f64 = 960.0;
const BAR: f64 = 14.0;
const GAP: f64 = 4.0;
const HEADER: f64 = 22.0;
const TOP: f64 = 60.0;

const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

pub fn write(path: &Path, rows: &[Row], title: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, draw(rows, title))
}

/// Rows with a ratio, grouped by workload and metric in the table's order.
fn groups(rows: &[Row]) -> Vec<Vec<(&Row, f64)>> {
    let mut groups: Vec<Vec<(&Row, f64)>> = Vec::new();
    for row in rows {
        let Some(ratio) = row.ratio() else { continue };
        let same = |g: &&mut Vec<(&Row, f64)>| {
            g[0].0.workload == row.workload && g[0].0.metric == row.metric
        };
        match groups.iter_mut().find(same) {
            Some(g) => g.push((row, ratio)),
            None => groups.push(vec![(row, ratio)]),
        }
    }
    groups
}

pub fn draw(rows: &[Row], title: &str) -> String {
    let groups = groups(rows);
    let ratios = groups.iter().flatten().map(|(_, r)| *r);
    let lo = ratios.clone().fold(0.1_f64, f64::min).log10().floor();
    let hi = ratios.fold(10.0_f64, f64::max).log10().ceil();
    let x = |ratio: f64| {
        let t = (ratio.max(10f64.powf(lo)).log10() - lo) / (hi - lo);
        PLOT_LEFT + t * (PLOT_RIGHT - PLOT_LEFT)
    };
    let bars: usize = groups.iter().map(Vec::len).sum();
    let height = TOP + groups.len() as f64 * HEADER + bars as f64 * (BAR + GAP) + 30.0;
    let mut peers: Vec<&str> = Vec::new();
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="11">"##
    );
    let _ = writeln!(svg, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let _ = writeln!(
        svg,
        r##"<text x="10" y="20" font-size="15" font-weight="bold">{}</text>"##,
        escape(title)
    );
    let _ = writeln!(
        svg,
        r##"<text x="10" y="38" fill="#555">Each bar: a peer's median over its row's reference (log scale, 1x = the reference). For µs and MB rows less is better.</text>"##
    );
    // Grid lines at 1, 2 and 5 of each decade (at 1 alone past three decades), the
    // 1x line darker.
    let steps: &[u32] = if hi - lo > 3.0 { &[1] } else { &[1, 2, 5] };
    for decade in lo as i32..=hi as i32 {
        for &step in steps {
            let ratio = f64::from(step) * 10f64.powi(decade);
            if ratio.log10() > hi + 1e-9 {
                continue;
            }
            let (gx, stroke) = (x(ratio), if ratio == 1.0 { "#333" } else { "#ddd" });
            let _ = writeln!(
                svg,
                r##"<line x1="{gx:.1}" y1="{}" x2="{gx:.1}" y2="{:.1}" stroke="{stroke}"/><text x="{gx:.1}" y="{}" text-anchor="middle" fill="#555">{}x</text>"##,
                TOP - 8.0,
                height - 20.0,
                TOP - 12.0,
                tick(step, decade)
            );
        }
    }
    let mut y = TOP;
    for group in &groups {
        let (first, _) = group[0];
        let of = first.reference.as_ref().map_or("", |r| r.of.as_str());
        let _ = writeln!(
            svg,
            r##"<text x="10" y="{:.1}" font-weight="bold">{} ({}) vs {}</text>"##,
            y + 15.0,
            escape(first.workload),
            escape(first.metric.unit()),
            escape(of)
        );
        y += HEADER;
        for (row, ratio) in group {
            let color = match peers.iter().position(|p| *p == row.peer) {
                Some(i) => PALETTE[i % PALETTE.len()],
                None => {
                    peers.push(row.peer);
                    PALETTE[(peers.len() - 1) % PALETTE.len()]
                }
            };
            let (one, end) = (x(1.0), x(*ratio));
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{BAR}" fill="{color}"/><text x="{:.1}" y="{:.1}">{}</text>"##,
                PLOT_LEFT - 8.0,
                y + BAR - 3.0,
                escape(row.peer),
                one.min(end),
                (end - one).abs().max(1.0),
                one.max(end) + 4.0,
                y + BAR - 3.0,
                times(*ratio),
            );
            y += BAR + GAP;
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// `step` × 10^`decade` written out: `0.002`, `5`, `50`.
fn tick(step: u32, decade: i32) -> String {
    match decade {
        d if d >= 0 => (step * 10u32.pow(d as u32)).to_string(),
        d => format!("0.{}{step}", "0".repeat((-d - 1) as usize)),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
