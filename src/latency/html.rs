//! The `ilinkd report --html` page: one self-contained file (inline CSS and SVG, no script, no
//! network), readable offline on an operations desk.
//!
//! - the percentile table;
//! - every hop's percentile distribution on one chart (x: the usual `1/(1-p)` log axis, y: log
//!   latency, so hops nanoseconds and milliseconds apart are comparable);
//! - one row per hop: its distribution (linear y) beside its latency over time (p50, p99, p99.9,
//!   max per interval), all rows on the same x axes.

use super::report::{format_utc, Report, TagSeries, TABLE_QUANTILES, UNIT};
use std::fmt::Write as _;

const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// A number for an axis label: short, no trailing zeros.
fn label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    let s = if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[derive(Clone, Copy)]
enum Scale {
    Lin(f64, f64),
    Log(f64, f64),
}

impl Scale {
    fn frac(self, v: f64) -> f64 {
        match self {
            Scale::Lin(lo, hi) => (v - lo) / (hi - lo).max(f64::MIN_POSITIVE),
            Scale::Log(lo, hi) => {
                (v.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10()).max(1e-9)
            }
        }
    }
    /// Tick values with labels.
    fn ticks(self) -> Vec<f64> {
        match self {
            Scale::Lin(lo, hi) => {
                let raw = (hi - lo) / 5.0;
                let mag = 10f64.powf(raw.log10().floor());
                let step = [1.0, 2.0, 2.5, 5.0, 10.0]
                    .iter()
                    .map(|m| m * mag)
                    .find(|s| *s >= raw)
                    .unwrap_or(10.0 * mag);
                let mut t = (lo / step).ceil() * step;
                let mut out = Vec::new();
                while t <= hi + step * 1e-9 && out.len() < 20 {
                    out.push(t);
                    t += step;
                }
                out
            }
            Scale::Log(lo, hi) => {
                let mut out = Vec::new();
                let mut d = 10f64.powf(lo.log10().floor());
                // 1-2-5 labels over a few decades, decades only over many.
                let many = hi.log10() - lo.log10() > 4.5;
                let mults: &[f64] = if many { &[1.0] } else { &[1.0, 2.0, 5.0] };
                while d <= hi * 1.0001 && out.len() < 40 {
                    for &m in mults {
                        let v = d * m;
                        if v >= lo * 0.9999 && v <= hi * 1.0001 {
                            out.push(v);
                        }
                    }
                    d *= 10.0;
                }
                out
            }
        }
    }
}

struct Chart {
    w: f64,
    h: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x: Scale,
    y: Scale,
    svg: String,
}

impl Chart {
    fn new(w: f64, h: f64, x: Scale, y: Scale) -> Chart {
        Chart {
            w,
            h,
            left: 62.0,
            right: 34.0,
            top: 12.0,
            bottom: 40.0,
            x,
            y,
            svg: String::new(),
        }
    }
    fn px(&self, v: f64) -> f64 {
        self.left + self.x.frac(v).clamp(0.0, 1.0) * (self.w - self.left - self.right)
    }
    fn py(&self, v: f64) -> f64 {
        self.h - self.bottom - self.y.frac(v).clamp(0.0, 1.0) * (self.h - self.top - self.bottom)
    }
    fn axes(&mut self, xticks: &[(f64, String)], xtitle: &str, ytitle: &str) {
        let (x0, x1) = (self.left, self.w - self.right);
        let (y0, y1) = (self.h - self.bottom, self.top);
        let mut s = String::new();
        for t in self.y.ticks() {
            let y = self.py(t);
            let _ = write!(
                s,
                r##"<line x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" class="grid"/><text x="{:.1}" y="{:.1}" class="yl">{}</text>"##,
                x0 - 5.0,
                y + 4.0,
                label(t)
            );
        }
        for (t, l) in xticks {
            let x = self.px(*t);
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{y1:.1}" class="grid"/><text x="{x:.1}" y="{:.1}" class="xl">{}</text>"##,
                y0 + 15.0,
                esc(l)
            );
        }
        let _ = write!(
            s,
            r##"<rect x="{x0:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}" class="frame"/><text x="{:.1}" y="{:.1}" class="xt">{}</text><text transform="translate(14,{:.1}) rotate(-90)" class="xt">{}</text>"##,
            x1 - x0,
            y0 - y1,
            (x0 + x1) / 2.0,
            self.h - 6.0,
            esc(xtitle),
            (y0 + y1) / 2.0,
            esc(ytitle)
        );
        self.svg.insert_str(0, &s);
    }
    fn line(&mut self, pts: &[(f64, f64)], color: &str, width: f64, dash: bool) {
        if pts.is_empty() {
            return;
        }
        let mut d = String::new();
        for (i, (x, y)) in pts.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { "L" },
                self.px(*x),
                self.py(*y)
            );
        }
        let _ = write!(
            self.svg,
            r##"<path d="{d}" fill="none" stroke="{color}" stroke-width="{width}"{}/>"##,
            if dash {
                r#" stroke-dasharray="5,3""#
            } else {
                ""
            }
        );
        if pts.len() == 1 {
            let _ = write!(
                self.svg,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"##,
                self.px(pts[0].0),
                self.py(pts[0].1)
            );
        }
    }
    fn finish(self) -> String {
        format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">{}</svg>"##,
            self.svg,
            w = self.w,
            h = self.h
        )
    }
}

/// (x = 1/(1-p), y = µs) points of a distribution, the last (p = 1) placed at `x_max`.
fn percentile_points(s: &TagSeries, x_max: f64) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = Vec::new();
    for v in s.total.iter_quantiles(5) {
        let q = v.quantile_iterated_to();
        let x = if q < 1.0 {
            (1.0 / (1.0 - q)).min(x_max)
        } else {
            x_max
        };
        pts.push((x, us(v.value_iterated_to())));
    }
    pts
}

fn percentile_x_axis(max_count: u64) -> (f64, Vec<(f64, String)>) {
    // Up to the percentile the data can resolve (1/count), at least 99.99%, at most 99.9999%.
    let decades = ((max_count.max(1) as f64).log10().ceil()).clamp(4.0, 6.0) as i32;
    let labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];
    let ticks = (0..=decades)
        .map(|d| (10f64.powi(d), labels[d as usize].to_string()))
        .collect();
    (10f64.powi(decades), ticks)
}

fn log_bounds(lo: f64, hi: f64) -> (f64, f64) {
    let lo = 10f64.powf(lo.max(1e-3).log10().floor());
    let hi = 10f64.powf(hi.max(lo * 10.0).log10().ceil());
    (lo, hi)
}

fn overview(r: &Report) -> String {
    let max_count = r.series.iter().map(|s| s.total.len()).max().unwrap_or(1);
    let (x_max, xticks) = percentile_x_axis(max_count);
    let lo = r
        .series
        .iter()
        .map(|s| us(s.total.min()))
        .fold(f64::INFINITY, f64::min);
    let hi = r
        .series
        .iter()
        .map(|s| us(s.total.max()))
        .fold(0.0, f64::max);
    let (ylo, yhi) = log_bounds(lo, hi);
    let mut c = Chart::new(1300.0, 420.0, Scale::Log(1.0, x_max), Scale::Log(ylo, yhi));
    c.left = 70.0;
    for (i, s) in r.series.iter().enumerate() {
        let pts = percentile_points(s, x_max);
        c.line(&pts, PALETTE[i % PALETTE.len()], 2.0, i >= PALETTE.len());
    }
    c.axes(&xticks, "percentile", &format!("latency ({UNIT}, log)"));
    c.finish()
}

fn hop_percentiles(s: &TagSeries, color: &str, x_max: f64, xticks: &[(f64, String)]) -> String {
    let pts = percentile_points(s, x_max);
    let hi = pts.iter().map(|p| p.1).fold(0.0, f64::max) * 1.08;
    let mut c = Chart::new(
        640.0,
        250.0,
        Scale::Log(1.0, x_max),
        Scale::Lin(0.0, hi.max(0.001)),
    );
    c.line(&pts, color, 2.0, false);
    c.axes(xticks, "percentile", UNIT);
    c.finish()
}

fn hop_over_time(s: &TagSeries, t0: f64, t1: f64) -> String {
    let hi = s.intervals.iter().map(|p| us(p.max)).fold(0.0, f64::max) * 1.08;
    let span = (t1 - t0).max(1.0);
    let mut c = Chart::new(
        640.0,
        250.0,
        Scale::Lin(0.0, span),
        Scale::Lin(0.0, hi.max(0.001)),
    );
    let xticks: Vec<(f64, String)> = Scale::Lin(0.0, span)
        .ticks()
        .into_iter()
        .map(|t| (t, format_utc(t0 + t)[11..].to_string()))
        .collect();
    let mid = |p: &super::report::IntervalPoint| p.start_unix_s - t0 + p.duration_s / 2.0;
    type Pick = fn(&super::report::IntervalPoint) -> u64;
    let series: [(&str, &str, bool, Pick); 4] = [
        ("max", "#d62728", true, |p| p.max),
        ("p99.9", "#ff7f0e", false, |p| p.p999),
        ("p99", "#9467bd", false, |p| p.p99),
        ("p50", "#1f77b4", false, |p| p.p50),
    ];
    for (_, color, dash, f) in series {
        let pts: Vec<(f64, f64)> = s.intervals.iter().map(|p| (mid(p), us(f(p)))).collect();
        c.line(&pts, color, 1.6, dash);
    }
    c.axes(&xticks, "time (UTC)", UNIT);
    c.finish()
}

/// A series' name on the page: `host tag` in a fleet report.
fn series_name(s: &TagSeries) -> String {
    if s.host.is_empty() {
        s.tag.clone()
    } else {
        format!("{} {}", s.host, s.tag)
    }
}

/// The whole page.
pub fn render(r: &Report) -> String {
    let mut h = String::new();
    h.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>ilinkd latency report</title><style>",
        "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:20px 24px;color:#222;background:#fff}",
        "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 6px}h3{font-size:14px;margin:0 0 2px;font-family:ui-monospace,monospace}",
        ".meta{color:#555;margin:0 0 10px}",
        "table{border-collapse:collapse;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}",
        "th,td{padding:3px 10px;border-bottom:1px solid #e4e4e4;text-align:right}th{background:#f4f4f4}",
        "td:first-child,th:first-child,td.l,th.l{text-align:left}.sw{display:inline-block;width:14px;height:4px;margin-right:6px;vertical-align:middle}",
        ".row{display:flex;gap:16px;margin:8px 0 14px;flex-wrap:wrap}.cell{flex:0 0 auto}",
        "svg{background:#fcfcfc}.grid{stroke:#e6e6e6;stroke-width:1}.frame{fill:none;stroke:#999}",
        ".yl{font-size:11px;text-anchor:end;fill:#444}.xl{font-size:11px;text-anchor:middle;fill:#444}",
        ".xt{font-size:12px;text-anchor:middle;fill:#222}.key{font-size:12px;color:#444}",
        "</style></head><body>\n"
    ));
    let _ = writeln!(
        h,
        "<h1>ilinkd latency report</h1><p class=\"meta\">{}<br>{}</p>",
        esc(&r.heading()),
        r.files
            .iter()
            .map(|f| esc(&f.display().to_string()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Table.
    h.push_str("<table><tr>");
    if r.has_hosts() {
        h.push_str("<th>host</th><th class=\"l\">tag</th>");
    } else {
        h.push_str("<th>tag</th>");
    }
    h.push_str("<th>count</th>");
    for (_, name) in TABLE_QUANTILES {
        let _ = write!(h, "<th>{name}</th>");
    }
    let _ = writeln!(h, "<th>max</th></tr>");
    for (i, s) in r.series.iter().enumerate() {
        let swatch = format!(
            "<span class=\"sw\" style=\"background:{}\"></span>",
            PALETTE[i % PALETTE.len()]
        );
        if r.has_hosts() {
            let host = if s.host.is_empty() { "-" } else { &s.host };
            let _ = write!(
                h,
                "<tr><td>{swatch}{}</td><td class=\"l\">{}</td>",
                esc(host),
                esc(&s.tag)
            );
        } else {
            let _ = write!(h, "<tr><td>{swatch}{}</td>", esc(&s.tag));
        }
        let _ = write!(h, "<td>{}</td>", s.total.len());
        for (q, _) in TABLE_QUANTILES {
            let _ = write!(h, "<td>{:.3}</td>", us(s.total.value_at_quantile(q)));
        }
        let _ = writeln!(h, "<td>{:.3}</td></tr>", us(s.total.max()));
    }
    let _ = writeln!(
        h,
        "</table><p class=\"key\">values in {UNIT}; colours match the chart below</p>"
    );
    h.push_str("<h2>Percentile distribution, all hops</h2>\n");
    h.push_str(&overview(r));
    h.push_str(
        "\n<h2>Per hop: distribution and latency over time</h2><p class=\"key\">right: per interval \
         <span class=\"sw\" style=\"background:#1f77b4\"></span>p50 \
         <span class=\"sw\" style=\"background:#9467bd\"></span>p99 \
         <span class=\"sw\" style=\"background:#ff7f0e\"></span>p99.9 \
         <span class=\"sw\" style=\"background:#d62728\"></span>max (dashed)</p>\n",
    );
    let max_count = r.series.iter().map(|s| s.total.len()).max().unwrap_or(1);
    let (x_max, xticks) = percentile_x_axis(max_count);
    for (i, s) in r.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let _ = writeln!(
            h,
            "<h3><span class=\"sw\" style=\"background:{color}\"></span>{} &nbsp; p50 {:.3} &middot; p99 {:.3} &middot; p99.9 {:.3} &middot; max {:.3} {UNIT} &middot; {} samples</h3><div class=\"row\"><div class=\"cell\">{}</div><div class=\"cell\">{}</div></div>",
            esc(&series_name(s)),
            us(s.total.value_at_quantile(0.5)),
            us(s.total.value_at_quantile(0.99)),
            us(s.total.value_at_quantile(0.999)),
            us(s.total.max()),
            s.total.len(),
            hop_percentiles(s, color, x_max, &xticks),
            hop_over_time(s, r.first_s, r.last_s)
        );
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_ticks() {
        assert_eq!(label(0.0), "0");
        assert_eq!(label(2.5), "2.5");
        assert_eq!(label(100.0), "100");
        assert_eq!(label(0.05), "0.05");
        assert_eq!(
            Scale::Lin(0.0, 10.0).ticks(),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(
            Scale::Log(0.1, 10.0).ticks(),
            vec![0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]
        );
        assert_eq!(esc("<a&\">"), "&lt;a&amp;&quot;&gt;");
    }
}
