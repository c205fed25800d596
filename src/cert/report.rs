//! The certification report: Markdown and self-contained HTML (no external assets).

use super::{Dir, Result_};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write the report {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn dir_arrow(d: Dir) -> &'static str {
    match d {
        Dir::Sent => "->",
        Dir::Received => "<-",
    }
}

fn markdown(results: &[Result_], against: &str) -> String {
    let mut s = format!("# ilinkd certification report (against {})\n\n", against);
    s.push_str("| Scenario | Suite | Result | Reason |\n|---|---|---|---|\n");
    for r in results {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            r.name,
            r.suite,
            r.outcome.label(),
            r.outcome.reason().unwrap_or("")
        );
    }
    for r in results {
        let _ = writeln!(s, "\n## {} — {}\n", r.name, r.outcome.label());
        if let Some(why) = r.outcome.reason() {
            let _ = writeln!(s, "Reason: {why}\n");
        }
        if !r.lines.is_empty() {
            s.push_str("### Messages\n\n```\n");
            for l in &r.lines {
                let _ = writeln!(s, "{:>7} ms {} {}", l.at_ms, dir_arrow(l.dir), l.text);
            }
            s.push_str("```\n\n");
        }
        if !r.checks.is_empty() {
            s.push_str("### Checks\n\n");
            for c in &r.checks {
                let _ = writeln!(s, "- [{}] {}", if c.ok { "x" } else { " " }, c.what);
            }
        }
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn html(results: &[Result_], against: &str) -> String {
    let mut s = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ilinkd certification report</title>\
         <style>body{font-family:sans-serif}pre{background:#f4f4f4;padding:6px}\
         .PASS{color:#070}.FAIL{color:#b00}.SKIPPED{color:#777}td,th{padding:2px 8px}</style>\
         </head><body><h1>ilinkd certification report (against ",
    );
    s.push_str(&esc(against));
    s.push_str(
        ")</h1><table><tr><th>Scenario</th><th>Suite</th><th>Result</th><th>Reason</th></tr>",
    );
    for r in results {
        let l = r.outcome.label();
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"{l}\">{l}</td><td>{}</td></tr>",
            esc(r.name),
            esc(r.suite),
            esc(r.outcome.reason().unwrap_or(""))
        );
    }
    s.push_str("</table>");
    for r in results {
        let l = r.outcome.label();
        let _ = write!(
            s,
            "<h2>{} — <span class=\"{l}\">{l}</span></h2>",
            esc(r.name)
        );
        if let Some(why) = r.outcome.reason() {
            let _ = write!(s, "<p>Reason: {}</p>", esc(why));
        }
        if !r.lines.is_empty() {
            s.push_str("<h3>Messages</h3><pre>");
            for m in &r.lines {
                let _ = writeln!(
                    s,
                    "{:>7} ms {} {}",
                    m.at_ms,
                    esc(dir_arrow(m.dir)),
                    esc(&m.text)
                );
            }
            s.push_str("</pre>");
        }
        if !r.checks.is_empty() {
            s.push_str("<h3>Checks</h3><ul>");
            for c in &r.checks {
                let _ = write!(
                    s,
                    "<li class=\"{}\">{}</li>",
                    if c.ok { "PASS" } else { "FAIL" },
                    esc(&c.what)
                );
            }
            s.push_str("</ul>");
        }
    }
    s.push_str("</body></html>\n");
    s
}

/// Writes `DIR/cert-report.md` and `DIR/cert-report.html`; returns their paths.
pub fn write_report(dir: &Path, results: &[Result_]) -> Result<[PathBuf; 2], ReportError> {
    write_report_against(dir, results, "the embedded simulator")
}

/// The same, naming what was certified against (`against`, e.g. `session cme-eq at
/// 10.0.0.10:12345`).
pub fn write_report_against(
    dir: &Path,
    results: &[Result_],
    against: &str,
) -> Result<[PathBuf; 2], ReportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let md = dir.join("cert-report.md");
    let ht = dir.join("cert-report.html");
    std::fs::write(&md, markdown(results, against)).map_err(io(&md))?;
    std::fs::write(&ht, html(results, against)).map_err(io(&ht))?;
    Ok([md, ht])
}
