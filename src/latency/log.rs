//! HdrHistogram interval logs: writing (one file per UTC day) and reading.
//!
//! The format is the one `HistogramLogWriter`/`HistogramLogReader`, `HistogramLogProcessor` and
//! the HdrHistogram plotter use: a header, then one line per (interval, tag):
//!
//! ```text
//! #[Histogram log format version 1.3]
//! #[StartTime: 1767225600.000 (seconds since epoch)]
//! #[BaseTime: 1767225600.000 (seconds since epoch)]
//! "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
//! Tag=cme-eq.exchange_rtt,12.000,1.000,0.048,HISTFAAAAEF42pNpmSzMwMD...
//! ```
//!
//! Timestamps are seconds after BaseTime (the start of the file's first interval); the max
//! column is in milliseconds (values are recorded in nanoseconds, as jHiccup does); histograms
//! are V2 + DEFLATE compressed, base64. A tag with no samples in an interval has no line.
//!
//! The `hdrhistogram` crate writes the header and the lines ([`IntervalLogWriterBuilder`]) and
//! parses the log back ([`IntervalLogIterator`]); this module adds the daily files, the column
//! legend and the timestamp rules of the Java reader.

use super::clock::Clock;
use super::recorder::IntervalSet;
use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, IntervalLogWriterError, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Values are nanoseconds; the interval max column is written in milliseconds.
pub const MAX_VALUE_DIVISOR: f64 = 1e6;

/// The column legend Java's `HistogramLogWriter` writes after the header (readers skip it).
const LEGEND: &str =
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";

/// Errors writing or reading interval logs.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// File system error, with the path.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A histogram could not be compressed.
    #[error("{path}: compressing the histogram for tag {tag}: {message}")]
    Serialize {
        path: PathBuf,
        tag: String,
        message: String,
    },
    /// A line of a log could not be parsed.
    #[error("{path}:{line}: not an interval log line")]
    Parse { path: PathBuf, line: usize },
    /// A histogram in a log could not be decoded.
    #[error("{path}:{line}: bad histogram: {message}")]
    Histogram {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A tag that HdrHistogram refuses (contains `,`, space, CR or LF).
    #[error("invalid interval log tag {0:?}")]
    BadTag(String),
}

/// The file being written.
struct DayFile {
    path: PathBuf,
    w: BufWriter<File>,
    /// BaseTime, Unix nanoseconds (a whole second).
    base_ns: u64,
}

/// Writes interval sets to `<dir>/<prefix>-YYYY-MM-DD.hlog`, opening a new file when an
/// interval starts on a new UTC day. An existing file of the same day is appended to (a restart
/// writes a new header, which readers take as a new BaseTime).
///
/// The crate's `IntervalLogWriter` borrows its output for as long as it lives, which a log that
/// switches files between calls cannot give it; so each file's header comes from one builder
/// and each interval's lines from a writer built for that call over a buffer. Building a writer
/// with a max value divisor first writes a `#[MaxValueDivisor: ..]` comment; those bytes (the
/// same every time, taken once in [`IntervalLog::new`]) are dropped, so that a file reads as
/// Java's `HistogramLogWriter` output: one header, then interval lines.
pub struct IntervalLog {
    dir: PathBuf,
    prefix: String,
    day: Option<(i32, u8, u8)>,
    file: Option<DayFile>,
    serializer: V2DeflateSerializer,
    /// Comments and StartTime; BaseTime is set for each file.
    header: IntervalLogWriterBuilder,
    /// The max value divisor only: writes the interval lines.
    lines: IntervalLogWriterBuilder,
    /// What `lines` writes before the first histogram.
    lines_preamble: Vec<u8>,
    buf: Vec<u8>,
}

impl IntervalLog {
    /// A writer into `dir` (created if missing); `start` (wall clock) is written as StartTime;
    /// `comment` goes in each file's header (e.g. the daemon name, the clock source).
    pub fn new(
        dir: impl Into<PathBuf>,
        prefix: &str,
        start: SystemTime,
        comment: &str,
    ) -> Result<IntervalLog, LogError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| LogError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut header = IntervalLogWriterBuilder::new();
        header
            .add_comment("[Histogram log format version 1.3]")
            .add_comment("[Values in nanoseconds; Interval_Max in milliseconds]");
        for line in comment.lines() {
            header.add_comment(&format!("[{line}]"));
        }
        header.with_start_time(start.max(UNIX_EPOCH));
        let mut lines = IntervalLogWriterBuilder::new();
        lines.with_max_value_divisor(MAX_VALUE_DIVISOR);
        let mut serializer = V2DeflateSerializer::new();
        let mut lines_preamble = Vec::new();
        lines
            .begin_log_with(&mut lines_preamble, &mut serializer)
            .map_err(|source| LogError::Io {
                path: dir.clone(),
                source,
            })?;
        Ok(IntervalLog {
            dir,
            prefix: prefix.to_string(),
            day: None,
            file: None,
            serializer,
            header,
            lines,
            lines_preamble,
            buf: Vec::new(),
        })
    }

    /// The file currently written, if any.
    pub fn current_path(&self) -> Option<&Path> {
        self.file.as_ref().map(|f| f.path.as_path())
    }

    /// The file name for a UTC day.
    pub fn file_name(prefix: &str, (y, m, d): (i32, u8, u8)) -> String {
        format!("{prefix}-{y:04}-{m:02}-{d:02}.hlog")
    }

    /// Writes every non-empty histogram of `set` (tags from the collector), placed in time with
    /// `clock`, then flushes.
    pub fn write_set(
        &mut self,
        set: &IntervalSet,
        tags: &[String],
        clock: &Clock,
    ) -> Result<(), LogError> {
        let start_ns = clock.to_unix_ns(set.start());
        let end_ns = clock.to_unix_ns(set.end()).max(start_ns);
        let entries = set
            .iter()
            .filter_map(|(i, h)| Some((tags.get(i)?.as_str(), h)));
        self.write_interval(start_ns, end_ns - start_ns, entries)
    }

    /// Writes one interval: `(tag, histogram)` pairs starting at Unix time `start_ns`, lasting
    /// `duration_ns`, then flushes. Nothing of the interval is written when a tag is refused.
    pub fn write_interval<'h>(
        &mut self,
        start_ns: u64,
        duration_ns: u64,
        entries: impl IntoIterator<Item = (&'h str, &'h Histogram<u64>)>,
    ) -> Result<(), LogError> {
        let day = utc_day(start_ns);
        if self.day != Some(day) || self.file.is_none() {
            self.open(day, start_ns)?;
        }
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        let io = |source| LogError::Io {
            path: f.path.clone(),
            source,
        };
        let offset = Duration::from_nanos(start_ns.saturating_sub(f.base_ns));
        let duration = Duration::from_nanos(duration_ns);
        self.buf.clear();
        let mut lw = self
            .lines
            .begin_log_with(&mut self.buf, &mut self.serializer)
            .map_err(io)?;
        for (tag, h) in entries {
            let t = Tag::new(tag)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| LogError::BadTag(tag.to_string()))?;
            lw.write_histogram(h, offset, duration, Some(t))
                .map_err(|e| match e {
                    IntervalLogWriterError::IoError(source) => io(source),
                    IntervalLogWriterError::SerializeError(e) => LogError::Serialize {
                        path: f.path.clone(),
                        tag: tag.to_string(),
                        message: e.to_string(),
                    },
                })?;
        }
        let lines = self
            .buf
            .strip_prefix(self.lines_preamble.as_slice())
            .unwrap_or(&self.buf);
        f.w.write_all(lines).map_err(io)?;
        f.w.flush().map_err(io)
    }

    fn open(&mut self, day: (i32, u8, u8), start_ns: u64) -> Result<(), LogError> {
        if let Some(DayFile { path, mut w, .. }) = self.file.take() {
            w.flush().map_err(|source| LogError::Io { path, source })?;
        }
        let path = self.dir.join(Self::file_name(&self.prefix, day));
        let io = |source| LogError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        let mut w = BufWriter::new(file);
        // BaseTime: the whole second at or before the first interval, so offsets read easily.
        let base_ns = start_ns / 1_000_000_000 * 1_000_000_000;
        self.header
            .with_base_time(UNIX_EPOCH + Duration::from_nanos(base_ns))
            .begin_log_with(&mut w, &mut self.serializer)
            .map_err(io)?;
        w.write_all(LEGEND.as_bytes()).map_err(io)?;
        self.file = Some(DayFile { path, w, base_ns });
        self.day = Some(day);
        Ok(())
    }
}

/// (year, month, day) of a Unix time in nanoseconds, UTC.
pub fn utc_day(unix_ns: u64) -> (i32, u8, u8) {
    let secs = (unix_ns / 1_000_000_000).min(i64::MAX as u64) as i64;
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => (t.year(), t.month() as u8, t.day()),
        Err(_) => (1970, 1, 1),
    }
}

/// One histogram read from a log.
#[derive(Debug, Clone)]
pub struct LoggedInterval {
    /// Tag, or `""` when the line had none.
    pub tag: String,
    /// Interval start, Unix seconds.
    pub start_unix_s: f64,
    /// Interval length, seconds.
    pub duration_s: f64,
    /// The histogram (nanoseconds).
    pub histogram: Histogram<u64>,
}

/// Reads every interval of a log file (uncompressed V2 and V2 + DEFLATE histograms).
///
/// Timestamps follow the Java `HistogramLogReader`: after a BaseTime they are offsets from it;
/// with only a StartTime they are offsets when more than a year smaller than it, else absolute;
/// with neither they are absolute.
pub fn read_log(path: &Path) -> Result<Vec<LoggedInterval>, LogError> {
    let bytes = std::fs::read(path).map_err(|source| LogError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_log(&bytes, path)
}

/// [`read_log`] on bytes already in memory (`path` is for messages).
pub fn parse_log(bytes: &[u8], path: &Path) -> Result<Vec<LoggedInterval>, LogError> {
    let mut out = Vec::new();
    let mut base: Option<f64> = None;
    let mut start: Option<f64> = None;
    let mut de = Deserializer::new();
    // A log without a final newline would make the parser drop its last line: add one.
    let owned;
    let input = if bytes.last().is_some_and(|&b| b != b'\n') {
        owned = [bytes, b"\n"].concat();
        &owned[..]
    } else {
        bytes
    };
    let line_of = |offset: usize| {
        input
            .get(..offset)
            .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
            + 1
    };
    for entry in IntervalLogIterator::new(input) {
        match entry {
            Err(hdrhistogram::serialization::interval_log::LogIteratorError::ParseError {
                offset,
            }) => {
                return Err(LogError::Parse {
                    path: path.to_path_buf(),
                    line: line_of(offset),
                })
            }
            Ok(LogEntry::BaseTime(d)) => base = Some(d.as_secs_f64()),
            Ok(LogEntry::StartTime(d)) => start = Some(d.as_secs_f64()),
            Ok(LogEntry::Interval(h)) => {
                let ts = h.start_timestamp().as_secs_f64();
                let abs = match (base, start) {
                    (Some(b), _) => b + ts,
                    (None, Some(s)) if ts < s - 365.0 * 86400.0 => s + ts,
                    _ => ts,
                };
                let encoded = h.encoded_histogram();
                // The encoded text is a slice of `input`: its offset gives the line number.
                let line =
                    line_of((encoded.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize));
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .map_err(|e| LogError::Histogram {
                        path: path.to_path_buf(),
                        line,
                        message: format!("base64: {e}"),
                    })?;
                let histogram: Histogram<u64> =
                    de.deserialize(&mut &raw[..])
                        .map_err(|e| LogError::Histogram {
                            path: path.to_path_buf(),
                            line,
                            message: format!("{e:?}"),
                        })?;
                out.push(LoggedInterval {
                    tag: h.tag().map(|t| t.as_str().to_string()).unwrap_or_default(),
                    start_unix_s: abs,
                    duration_s: h.duration().as_secs_f64(),
                    histogram,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc() {
        assert_eq!(utc_day(0), (1970, 1, 1));
        // 2026-03-02T23:59:59Z and one second later.
        assert_eq!(utc_day(1_772_495_999_000_000_000), (2026, 3, 2));
        assert_eq!(utc_day(1_772_496_000_000_000_000), (2026, 3, 3));
    }

    #[test]
    fn garbage_is_a_parse_error_with_its_line() {
        let log = b"#[BaseTime: 10.000 (seconds since epoch)]\nnot a histogram line\n";
        match parse_log(log, Path::new("x.hlog")) {
            Err(LogError::Parse { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
        let log = b"Tag=a,1.000,1.000,1.000,!!!notbase64\n";
        assert!(matches!(
            parse_log(log, Path::new("x.hlog")),
            Err(LogError::Histogram { line: 1, .. })
        ));
    }
}
