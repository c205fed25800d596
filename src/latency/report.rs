//! `ilinkd report`: percentile tables, `.hgrm` distributions and an HTML page from interval logs.

use super::log::{read_log, LogError, LoggedInterval};
use super::{split_tag, Hop};
use hdrhistogram::Histogram;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Percentiles in the table, as quantiles.
pub const TABLE_QUANTILES: [(f64, &str); 5] = [
    (0.5, "p50"),
    (0.9, "p90"),
    (0.99, "p99"),
    (0.999, "p99.9"),
    (0.9999, "p99.99"),
];

/// Report values are printed in microseconds (recorded in nanoseconds).
pub const UNIT: &str = "us";
const NS_PER_UNIT: f64 = 1000.0;

/// Errors producing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A log could not be read.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A `--from`/`--to` value that is neither RFC 3339, Unix seconds nor `+SECONDS`.
    #[error("bad time {0:?}: expected RFC 3339 (2026-03-02T14:30:00Z), Unix seconds, or +SECONDS after the first interval")]
    BadTime(String),
    /// Nothing left after filtering.
    #[error("no intervals in {files} match the filters")]
    Empty { files: String },
    /// A `--label HOST=DIR_OR_GLOB` that is malformed or names no log.
    #[error("--label {spec}: {message}")]
    BadLabel { spec: String, message: String },
    /// Writing an output file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A `--from`/`--to` bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeBound {
    /// Unix seconds.
    Unix(f64),
    /// Seconds after the first interval in the files.
    AfterStart(f64),
}

impl std::str::FromStr for TimeBound {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<TimeBound, ReportError> {
        let bad = || ReportError::BadTime(s.to_string());
        if let Some(rest) = s.strip_prefix('+') {
            let v: f64 = rest.trim_end_matches('s').parse().map_err(|_| bad())?;
            return v
                .is_finite()
                .then_some(TimeBound::AfterStart(v))
                .ok_or_else(bad);
        }
        if let Ok(v) = s.parse::<f64>() {
            return v.is_finite().then_some(TimeBound::Unix(v)).ok_or_else(bad);
        }
        let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|_| bad())?;
        Ok(TimeBound::Unix(t.unix_timestamp_nanos() as f64 / 1e9))
    }
}

/// What to report on.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Tag patterns (`*` matches any run of characters); empty: every tag.
    pub tags: Vec<String>,
    /// Keep intervals starting at or after this.
    pub from: Option<TimeBound>,
    /// Keep intervals starting before this.
    pub to: Option<TimeBound>,
}

/// `*`-glob match.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// One interval of one tag, summarised for the over-time chart.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalPoint {
    /// Unix seconds.
    pub start_unix_s: f64,
    /// Seconds.
    pub duration_s: f64,
    /// Samples.
    pub count: u64,
    /// p50, p99, p99.9 and max, nanoseconds.
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

/// Everything known about one tag (of one host, in a fleet report).
#[derive(Debug, Clone)]
pub struct TagSeries {
    /// The host label (`--label HOST=...`); empty for logs given without one.
    pub host: String,
    /// `<session>.<hop>`.
    pub tag: String,
    /// All kept intervals added together.
    pub total: Histogram<u64>,
    /// Each kept interval, in time order.
    pub intervals: Vec<IntervalPoint>,
}

/// One host's logs in a fleet report: `--label HOST=DIR_OR_GLOB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLogs {
    /// The label shown in the host column.
    pub host: String,
    /// Its interval logs.
    pub files: Vec<PathBuf>,
}

impl HostLogs {
    /// Parses `HOST=DIR_OR_GLOB`: a folder (its `*.hlog` files), a file, or a pattern whose
    /// last path component has `*` wildcards (`/logs/ny4-a/2026-03-*.hlog`). Files in name
    /// order; none found is an error.
    pub fn parse(spec: &str) -> Result<HostLogs, ReportError> {
        let bad = |message: String| ReportError::BadLabel {
            spec: spec.to_string(),
            message,
        };
        let (host, place) = spec
            .split_once('=')
            .ok_or_else(|| bad("expected HOST=DIR_OR_GLOB, e.g. ny4-a=/var/log/ilinkd".into()))?;
        let host = host.trim();
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '*') {
            return Err(bad(format!(
                "host label {host:?} must be a word without spaces or wildcards"
            )));
        }
        let path = Path::new(place);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (dir, pattern) = if path.is_dir() {
            (path.to_path_buf(), "*.hlog".to_string())
        } else if name.contains('*') {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if dir.to_string_lossy().contains('*') {
                return Err(bad(
                    "wildcards only in the file name, not in the folders above it".into(),
                ));
            }
            (dir.to_path_buf(), name)
        } else if path.is_file() {
            return Ok(HostLogs {
                host: host.to_string(),
                files: vec![path.to_path_buf()],
            });
        } else {
            return Err(bad(format!("{place}: no such file or folder")));
        };
        let entries =
            std::fs::read_dir(&dir).map_err(|e| bad(format!("{}: {e}", dir.display())))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| glob_match(&pattern, &e.file_name().to_string_lossy()))
            .map(|e| e.path())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(bad(format!(
                "no file matches {pattern} in {}",
                dir.display()
            )));
        }
        Ok(HostLogs {
            host: host.to_string(),
            files,
        })
    }
}

/// A report over some logs.
#[derive(Debug, Clone)]
pub struct Report {
    /// The logs read.
    pub files: Vec<PathBuf>,
    /// Host labels in the order given (empty: a single-host report without labels).
    pub hosts: Vec<String>,
    /// One per tag and host, by session then hop in path order, the hosts of one tag next to
    /// each other.
    pub series: Vec<TagSeries>,
    /// Start of the first kept interval, Unix seconds.
    pub first_s: f64,
    /// End of the last kept interval, Unix seconds.
    pub last_s: f64,
}

fn hop_rank(tag: &str) -> (String, usize, String) {
    let (session, hop) = split_tag(tag);
    let rank = Hop::from_name(hop).map_or(Hop::COUNT, Hop::index);
    (session.to_string(), rank, hop.to_string())
}

impl Report {
    /// Reads the logs and keeps what the filter selects.
    pub fn load(files: &[PathBuf], filter: &Filter) -> Result<Report, ReportError> {
        Report::load_hosts(files, &[], filter)
    }

    /// A fleet report: `files` without a host label, then each host's logs under its label.
    pub fn load_hosts(
        files: &[PathBuf],
        hosts: &[HostLogs],
        filter: &Filter,
    ) -> Result<Report, ReportError> {
        let mut all = Vec::new();
        let mut paths = files.to_vec();
        for f in files {
            all.extend(read_log(f)?.into_iter().map(|i| (String::new(), i)));
        }
        let mut labels: Vec<String> = Vec::new();
        for h in hosts {
            if !labels.contains(&h.host) {
                labels.push(h.host.clone());
            }
            for f in &h.files {
                all.extend(read_log(f)?.into_iter().map(|i| (h.host.clone(), i)));
                paths.push(f.clone());
            }
        }
        Report::build(paths, labels, all, filter)
    }

    /// Builds a report from intervals already read.
    pub fn from_intervals(
        files: Vec<PathBuf>,
        all: Vec<LoggedInterval>,
        filter: &Filter,
    ) -> Result<Report, ReportError> {
        let all = all.into_iter().map(|i| (String::new(), i)).collect();
        Report::build(files, Vec::new(), all, filter)
    }

    fn build(
        files: Vec<PathBuf>,
        hosts: Vec<String>,
        mut all: Vec<(String, LoggedInterval)>,
        filter: &Filter,
    ) -> Result<Report, ReportError> {
        let origin = all
            .iter()
            .map(|(_, i)| i.start_unix_s)
            .fold(f64::INFINITY, f64::min);
        let bound = |b: TimeBound| match b {
            TimeBound::Unix(s) => s,
            TimeBound::AfterStart(s) => origin + s,
        };
        let from = filter.from.map(bound).unwrap_or(f64::NEG_INFINITY);
        let to = filter.to.map(bound).unwrap_or(f64::INFINITY);
        all.retain(|(_, i)| {
            i.start_unix_s >= from
                && i.start_unix_s < to
                && (filter.tags.is_empty() || filter.tags.iter().any(|p| glob_match(p, &i.tag)))
        });
        all.sort_by(|(_, a), (_, b)| a.start_unix_s.total_cmp(&b.start_unix_s));
        if all.is_empty() {
            return Err(ReportError::Empty {
                files: files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let first_s = all.first().map_or(0.0, |(_, i)| i.start_unix_s);
        let last_s = all
            .iter()
            .map(|(_, i)| i.start_unix_s + i.duration_s)
            .fold(first_s, f64::max);
        let mut series: Vec<TagSeries> = Vec::new();
        for (host, i) in all {
            let h = &i.histogram;
            let point = IntervalPoint {
                start_unix_s: i.start_unix_s,
                duration_s: i.duration_s,
                count: h.len(),
                p50: h.value_at_quantile(0.5),
                p99: h.value_at_quantile(0.99),
                p999: h.value_at_quantile(0.999),
                max: h.max(),
            };
            match series.iter_mut().find(|s| s.tag == i.tag && s.host == host) {
                Some(s) => {
                    // Both auto-resize: adding cannot fail on range.
                    let _ = s.total.add(&i.histogram);
                    s.intervals.push(point);
                }
                None => {
                    let mut total = i.histogram.clone();
                    total.auto(true);
                    series.push(TagSeries {
                        host,
                        tag: i.tag,
                        total,
                        intervals: vec![point],
                    });
                }
            }
        }
        // Unlabelled logs first, then the hosts in the order given.
        let host_rank = |h: &str| hosts.iter().position(|x| x == h).map_or(0, |i| i + 1);
        series.sort_by_key(|s| (hop_rank(&s.tag), host_rank(&s.host)));
        Ok(Report {
            files,
            hosts,
            series,
            first_s,
            last_s,
        })
    }

    /// Intervals kept, all tags together.
    pub fn interval_count(&self) -> usize {
        self.series.iter().map(|s| s.intervals.len()).sum()
    }

    /// The first line of the report: files, time range, unit.
    pub fn heading(&self) -> String {
        let hosts = if self.hosts.is_empty() {
            String::new()
        } else {
            format!(
                " from {} host(s) ({})",
                self.hosts.len(),
                self.hosts.join(", ")
            )
        };
        let mut tags: Vec<&str> = self.series.iter().map(|s| s.tag.as_str()).collect();
        tags.sort_unstable();
        tags.dedup();
        format!(
            "{} file(s){hosts}, {} tag(s), {} to {} UTC ({:.0} s), values in {UNIT}",
            self.files.len(),
            tags.len(),
            format_utc(self.first_s),
            format_utc(self.last_s),
            self.last_s - self.first_s
        )
    }

    /// Whether rows carry a host label (a fleet report).
    pub fn has_hosts(&self) -> bool {
        !self.hosts.is_empty()
    }

    /// The percentile table: one row per tag (per host and tag in a fleet report, a tag's
    /// hosts on adjacent rows).
    pub fn table(&self) -> String {
        let w = self
            .series
            .iter()
            .map(|s| s.tag.len())
            .max()
            .unwrap_or(3)
            .max(3);
        let hw = self
            .series
            .iter()
            .map(|s| s.host.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.heading());
        if self.has_hosts() {
            let _ = write!(out, "{:<hw$} ", "host");
        }
        let _ = write!(out, "{:<w$} {:>10}", "tag", "count");
        for (_, name) in TABLE_QUANTILES {
            let _ = write!(out, " {name:>10}");
        }
        let _ = writeln!(out, " {:>10}", "max");
        for s in &self.series {
            if self.has_hosts() {
                let host = if s.host.is_empty() { "-" } else { &s.host };
                let _ = write!(out, "{host:<hw$} ");
            }
            let _ = write!(out, "{:<w$} {:>10}", s.tag, s.total.len());
            for (q, _) in TABLE_QUANTILES {
                let _ = write!(out, " {:>10.3}", unit(s.total.value_at_quantile(q)));
            }
            let _ = writeln!(out, " {:>10.3}", unit(s.total.max()));
        }
        out
    }

    /// Writes `<dir>/<tag>.hgrm` for every tag; returns the paths.
    pub fn write_hgrm(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReportError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut paths = Vec::new();
        for s in &self.series {
            let tag = if s.tag.is_empty() { "untagged" } else { &s.tag };
            let name = if s.host.is_empty() {
                tag.to_string()
            } else {
                format!("{}.{tag}", s.host)
            };
            let path = dir.join(format!("{}.hgrm", name.replace('/', "_")));
            std::fs::write(&path, hgrm(&s.total)).map_err(io(&path))?;
            paths.push(path);
        }
        Ok(paths)
    }
}

fn unit(ns: u64) -> f64 {
    ns as f64 / NS_PER_UNIT
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SS` (UTC).
pub fn format_utc(unix_s: f64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_s.floor() as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The standard percentile distribution text (`HistogramLogProcessor` / `.hgrm`, what the
/// HdrHistogram plotter reads), values in microseconds, 5 ticks per half distance.
pub fn hgrm(h: &Histogram<u64>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    for v in h.iter_quantiles(5) {
        total += v.count_since_last_iteration();
        let q = v.quantile_iterated_to();
        let value = unit(v.value_iterated_to());
        if q < 1.0 {
            let _ = writeln!(
                out,
                "{value:>12.3} {q:>2.12} {total:>10} {:>14.2}",
                1.0 / (1.0 - q)
            );
        } else {
            let _ = writeln!(out, "{value:>12.3} {q:>2.12} {total:>10}");
        }
    }
    let sub_buckets = 1u64 << ((2.0 * 10f64.powi(i32::from(h.sigfig()))).log2().ceil() as u32);
    let _ = writeln!(
        out,
        "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
        h.mean() / NS_PER_UNIT,
        h.stdev() / NS_PER_UNIT
    );
    let _ = writeln!(
        out,
        "#[Max     = {:>12.3}, Total count    = {:>12}]",
        unit(h.max()),
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        h.buckets(),
        sub_buckets
    );
    out
}

/// `ilinkd report`'s options.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Interval logs without a host label.
    pub files: Vec<PathBuf>,
    /// Each host's logs (`--label HOST=DIR_OR_GLOB`).
    pub hosts: Vec<HostLogs>,
    /// Tags and time range.
    pub filter: Filter,
    /// Write one `.hgrm` per tag into this folder.
    pub hgrm_dir: Option<PathBuf>,
    /// Write the HTML page here.
    pub html: Option<PathBuf>,
}

/// Runs `ilinkd report`: prints the table to `out`, writes the `.hgrm` files and the HTML page
/// when asked (and says where).
pub fn run(opts: &ReportOptions, out: &mut dyn std::io::Write) -> Result<(), ReportError> {
    let report = Report::load_hosts(&opts.files, &opts.hosts, &opts.filter)?;
    let stdout_err = |source| ReportError::Io {
        path: PathBuf::from("<stdout>"),
        source,
    };
    out.write_all(report.table().as_bytes())
        .map_err(stdout_err)?;
    if let Some(dir) = &opts.hgrm_dir {
        for p in report.write_hgrm(dir)? {
            writeln!(out, "wrote {}", p.display()).map_err(stdout_err)?;
        }
    }
    if let Some(path) = &opts.html {
        std::fs::write(path, super::html::render(&report)).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
        writeln!(out, "wrote {}", path.display()).map_err(stdout_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", "a.b"));
        assert!(glob_match("sim-eq.*", "sim-eq.submit"));
        assert!(glob_match("*.exchange_rtt", "x.exchange_rtt"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXcYb"));
        assert!(!glob_match("ab*ba", "aba"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exact2"));
    }

    #[test]
    fn time_bounds_parse() {
        assert_eq!(
            "+90".parse::<TimeBound>().unwrap(),
            TimeBound::AfterStart(90.0)
        );
        assert_eq!(
            "2026-03-02T14:30:00Z".parse::<TimeBound>().unwrap(),
            TimeBound::Unix(1_772_461_800.0)
        );
        assert_eq!(
            "1772461800.5".parse::<TimeBound>().unwrap(),
            TimeBound::Unix(1_772_461_800.5)
        );
        assert!("yesterday".parse::<TimeBound>().is_err());
        assert!("+NaN".parse::<TimeBound>().is_err());
        assert_eq!(format_utc(1_772_461_800.9), "2026-03-02T14:30:00");
    }

    #[test]
    fn hgrm_has_the_standard_shape() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 1_000_000, 3).unwrap();
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let text = hgrm(&h);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        assert_eq!(
            lines[2],
            "       1.000 0.000000000000          1           1.00"
        );
        let last_value = lines.iter().rfind(|l| !l.starts_with('#')).unwrap();
        assert_eq!(*last_value, "    1000.447 1.000000000000       1000");
        assert!(text.contains("#[Max     =     1000.447, Total count    =         1000]"));
        assert!(text.ends_with("SubBuckets     =         2048]\n"), "{text}");
    }
}
