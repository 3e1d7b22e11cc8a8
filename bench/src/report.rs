//! What a run leaves behind: HDR percentile files (`.hgrm`, the format HdrHistogram's plotters
//! read) and an SVG percentile plot with one line per run.
//!
//! The plot uses HdrHistogram's usual axes: x is the percentile on a "number of nines" scale
//! (50 %, 90 %, 99 %, 99.9 %, … equally spaced), y is latency in microseconds. The tail is what
//! matters for tick-to-trade, and this is the view that shows it.

use std::path::Path;

use hdrhistogram::Histogram;
use plotters::prelude::*;

/// Quantiles every table prints.
pub const QUANTILES: [(&str, f64); 5] = [
    ("p50", 0.5),
    ("p90", 0.9),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("p99.99", 0.9999),
];

/// The `.hgrm` text of a histogram of nanosecond values (written in microseconds, as
/// HdrHistogram's own tools do).
pub fn hgrm(h: &Histogram<u64>) -> String {
    let mut s = String::from("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    for v in h.iter_quantiles(2) {
        let q = v.quantile_iterated_to();
        let inv = if q < 1.0 {
            1.0 / (1.0 - q)
        } else {
            f64::INFINITY
        };
        s.push_str(&format!(
            "{:12.3} {:14.12} {:10} {:14.2}\n",
            v.value_iterated_to() as f64 / 1000.0,
            q,
            v.count_since_last_iteration(),
            inv
        ));
    }
    s.push_str(&format!(
        "#[Max = {:.3}, Total count = {}] (values in µs)\n",
        h.max() as f64 / 1000.0,
        h.len()
    ));
    s
}

/// "Number of nines" of a quantile: 0.9 → 1, 0.99 → 2; capped for q = 1.
fn nines(q: f64) -> f64 {
    (-(1.0 - q).max(1e-7).log10()).max(0.0)
}

/// The points of a percentile curve: (nines, µs), from the median to the maximum.
pub fn percentile_curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    // The finest percentile the sample resolves: one value in `len`.
    let resolved = nines(1.0 - 1.0 / h.len().max(2) as f64);
    let mut pts: Vec<(f64, f64)> = h
        .iter_quantiles(4)
        .map(|v| (v.quantile_iterated_to(), v.value_iterated_to()))
        .filter(|&(q, _)| q >= 0.5)
        .map(|(q, v)| (nines(q).min(resolved), v as f64 / 1000.0))
        .collect();
    if !pts.is_empty() {
        pts.push((resolved, h.max() as f64 / 1000.0));
    }
    pts
}

/// Writes an SVG percentile plot of `runs` (name, histogram of ns) to `path`.
///
/// # Errors
/// A description of the drawing or file error.
pub fn plot_percentiles(
    path: &Path,
    title: &str,
    runs: &[(&str, &Histogram<u64>)],
) -> Result<(), String> {
    let curves: Vec<(&str, Vec<(f64, f64)>)> = runs
        .iter()
        .map(|(n, h)| (*n, percentile_curve(h)))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    if curves.is_empty() {
        return Err("nothing to plot: every histogram is empty".into());
    }
    let x_max = curves
        .iter()
        .flat_map(|(_, c)| c.iter().map(|p| p.0))
        .fold(1.0_f64, f64::max)
        .ceil();
    let y_max = curves
        .iter()
        .flat_map(|(_, c)| c.iter().map(|p| p.1))
        .fold(0.001_f64, f64::max);
    let y_min = curves
        .iter()
        .flat_map(|(_, c)| c.iter().map(|p| p.1))
        .fold(f64::INFINITY, f64::min)
        .max(0.001);
    let root = SVGBackend::new(path, (960, 560)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<std::io::Error>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_max, (y_min * 0.8..y_max * 1.25).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (µs, log scale)")
        .x_labels(x_max as usize + 1)
        .x_label_formatter(&|x| {
            let p = 100.0 * (1.0 - 10f64.powf(-x));
            let digits = (x.ceil() as usize).saturating_sub(2);
            format!("{p:.digits$}%")
        })
        .y_label_formatter(&|y| format!("{y}"))
        .draw()
        .map_err(e)?;
    for (i, (name, c)) in curves.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(c.iter().copied(), color.stroke_width(2)))
            .map_err(e)?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for i in 1..=10_000u64 {
            h.record(1000 + i % 500).unwrap();
        }
        h.record(250_000).unwrap();
        h
    }

    #[test]
    fn curve_runs_from_the_median_to_the_maximum() {
        let h = sample();
        let c = percentile_curve(&h);
        assert!(c.first().unwrap().0 >= nines(0.5) - 1e-9);
        assert_eq!(c.last().unwrap().1, h.max() as f64 / 1000.0);
        assert!(c.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    }

    #[test]
    fn plot_writes_an_svg_with_every_run_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.svg");
        let (a, b) = (sample(), sample());
        plot_percentiles(&path, "t", &[("ours", &a), ("baseline", &b)]).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert!(svg.contains("ours") && svg.contains("baseline"));
        let empty = Histogram::<u64>::new(3).unwrap();
        assert!(plot_percentiles(&path, "t", &[("none", &empty)]).is_err());
    }

    #[test]
    fn hgrm_ends_with_the_total() {
        let h = sample();
        let s = hgrm(&h);
        assert!(s.ends_with(&format!("Total count = {}] (values in µs)\n", h.len())));
    }
}
