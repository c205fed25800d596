//! Layering rules, checked on the source text (DEVELOPERS.md):
//! - the protocol modules (`auth`, `ilink3`, `dropcopy`) are sans-IO: no files, sockets,
//!   threads, logging or clocks outside their tests;
//! - the modules below the daemon never name `crate::config` or `crate::daemon`.
//!
//! The scan is textual: comments and string literals are blanked, items under `#[cfg(test)]`
//! and the `tests.rs` / `*_tests.rs` files are left out, and grouped imports
//! (`use std::{fs, net};`) are expanded.

use std::path::{Path, PathBuf};

/// Sans-IO modules.
const SANS_IO: &[&str] = &["src/auth", "src/ilink3", "src/dropcopy"];

/// What a sans-IO module must not use.
const IO: &[&str] = &[
    "std::fs",
    "std::net",
    "std::thread",
    "tracing",
    "Instant::now",
    "SystemTime",
];

/// Files exempt from the IO rule, each with the reason and who removes it.
const IO_ALLOWED: &[&str] = &[];

/// Modules below the daemon: they must not depend on the layers above.
const LOWER: &[&str] = &[
    "src/auth",
    "src/ilink3",
    "src/dropcopy",
    "src/store",
    "src/shm",
    "src/net",
    "src/latency",
    "src/runtime",
    "src/sim",
    "src/types.rs",
];

/// The layers above them.
const UPPER: &[&str] = &["crate::config", "crate::daemon"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The non-test `.rs` files under `rel` (a file or a folder), as paths relative to the root.
fn sources(rel: &str) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    let path = root().join(rel);
    let mut files = Vec::new();
    if path.is_dir() {
        walk(&path, &mut files);
    } else {
        assert!(path.is_file(), "{rel} is gone: update the layering lists");
        files.push(path);
    }
    let mut rels: Vec<String> = files
        .iter()
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name != "tests.rs" && !name.ends_with("_tests.rs")
        })
        .map(|p| {
            p.strip_prefix(root())
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    rels.sort();
    rels
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `line` with `//` comments cut and string/char literal contents blanked. `in_str` carries an
/// unterminated (multi-line) string over to the next line; raw strings are treated as plain.
fn code_of(line: &str, in_str: &mut bool) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if *in_str {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    *in_str = false;
                    out.push('"');
                }
                _ => {}
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => break,
            '"' => {
                *in_str = true;
                out.push('"');
            }
            // A char literal such as '{' or '"' (a lifetime has no closing quote two later).
            '\'' => {
                let rest: String = chars.clone().take(12).collect();
                let len = if rest.starts_with('\\') {
                    rest.get(2..).and_then(|r| r.find('\'')).map(|i| i + 3)
                } else {
                    (rest.chars().nth(1) == Some('\'')).then_some(2)
                };
                match len {
                    Some(n) => {
                        for _ in 0..n {
                            chars.next();
                        }
                        out.push_str("' '");
                    }
                    None => out.push(c),
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn brace_delta(code: &str) -> i32 {
    code.chars()
        .map(|c| match c {
            '{' => 1,
            '}' => -1,
            _ => 0,
        })
        .sum()
}

/// The code lines of `src` that are built outside tests: `(line number, code)`.
fn production_lines(src: &str) -> Vec<(usize, String)> {
    /// Skipping one `#[cfg(test)]` item: its brace depth, and whether its body has opened.
    struct Skip {
        depth: i32,
        opened: bool,
    }
    let mut out = Vec::new();
    let mut in_str = false;
    let mut skip: Option<Skip> = None;
    for (i, line) in src.lines().enumerate() {
        let code = code_of(line, &mut in_str);
        let mut t = code.trim();
        if t == "#![cfg(test)]" {
            return Vec::new();
        }
        if skip.is_none() {
            if let Some(rest) = t.strip_prefix("#[cfg(test)]") {
                skip = Some(Skip {
                    depth: 0,
                    opened: false,
                });
                t = rest.trim();
            }
        }
        if let Some(s) = skip.as_mut() {
            if t.is_empty() || (!s.opened && t.starts_with("#[")) {
                continue;
            }
            s.depth += brace_delta(t);
            s.opened |= t.contains('{');
            if (s.opened && s.depth <= 0) || (!s.opened && t.ends_with(';')) {
                skip = None;
            }
            continue;
        }
        out.push((i + 1, code));
    }
    out
}

/// Every path a `use` tree names: `std::{fs, net::TcpStream as T}` gives `std::fs` and
/// `std::net::TcpStream`.
fn expand_use(tree: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut tokens = tree.split_whitespace();
    while let Some(w) = tokens.next() {
        if w == "as" {
            // Drop the alias, keep what closes after it (`Write as _}` -> `Write}`).
            let alias = tokens.next().unwrap_or("");
            words.push(alias.trim_start_matches(is_ident));
        } else {
            words.push(w);
        }
    }
    let tree: String = words.concat();
    let Some(open) = tree.find('{') else {
        return vec![tree.trim_end_matches(',').to_string()];
    };
    let (prefix, rest) = tree.split_at(open);
    let Some(inner) = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
        // Not a plain use tree: match it as it stands.
        return vec![tree];
    };
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(expand_use)
        .map(|p| format!("{prefix}{p}"))
        .collect()
}

/// `(line number, text)` to match: each code line, and the expanded paths of each `use`
/// (reported at the line where the `use` starts).
fn matchable(src: &str) -> Vec<(usize, String)> {
    let lines = production_lines(src);
    let mut out = Vec::new();
    let mut stmt: Option<(usize, String)> = None;
    for (n, code) in lines {
        let t = code.trim();
        let starts_use = t.starts_with("use ") || (t.starts_with("pub") && t.contains(" use "));
        if stmt.is_none() && starts_use {
            let body = t.split_once("use ").map(|(_, b)| b).unwrap_or("");
            stmt = Some((n, String::new()));
            if let Some((_, s)) = stmt.as_mut() {
                s.push_str(body);
            }
        } else if let Some((_, s)) = stmt.as_mut() {
            s.push(' ');
            s.push_str(t);
        }
        if let Some((start, s)) = stmt.as_ref() {
            if s.contains(';') {
                let tree = s.split(';').next().unwrap_or("");
                for path in expand_use(tree) {
                    out.push((*start, path));
                }
                stmt = None;
            }
        }
        out.push((n, code));
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `needle` in `hay`, not as the tail of a longer name (`retracing`, `mystd::fs`).
fn mentions(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle)
        .any(|(i, _)| !hay[..i].chars().next_back().is_some_and(is_ident))
}

/// `super::` paths of a file at module path `module` (e.g. `["store", "dropcopy"]`), rewritten
/// from the crate root, so `super::super::daemon` in `src/store/dropcopy.rs` reads
/// `crate::daemon`.
fn resolve_super(code: &str, module: &[String]) -> String {
    let mut out = code.to_string();
    for ups in (1..=module.len()).rev() {
        let from = "super::".repeat(ups);
        let base = &module[..module.len() - ups];
        let to: String = std::iter::once("crate".to_string())
            .chain(base.iter().cloned())
            .map(|s| s + "::")
            .collect();
        out = out.replace(&from, &to);
    }
    out
}

/// The module path of a source file: `src/store/mod.rs` is `["store"]`, `src/types.rs` is
/// `["types"]`.
fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_start_matches("src/")
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// `"line: pattern"` for each mention of one of `patterns` in the non-test code of `src`.
fn violations(src: &str, patterns: &[&str], module: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for (n, text) in matchable(src) {
        let text = resolve_super(&text, module);
        for p in patterns {
            let hit = format!("{n}: `{p}`");
            if mentions(&text, p) && !found.contains(&hit) {
                found.push(hit);
            }
        }
    }
    found
}

#[test]
fn sans_io_modules_do_no_io() {
    let mut bad = Vec::new();
    let mut stale = Vec::new();
    for dir in SANS_IO {
        for rel in sources(dir) {
            let v = violations(&read(&rel), IO, &module_path(&rel));
            if IO_ALLOWED.contains(&rel.as_str()) {
                if v.is_empty() {
                    stale.push(rel);
                }
            } else {
                bad.extend(v.into_iter().map(|v| format!("{rel}:{v}")));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "IO in sans-IO code (move it to store/daemon, or into a #[cfg(test)] module):\n{}",
        bad.join("\n")
    );
    assert!(
        stale.is_empty(),
        "no IO left in {stale:?}: remove it from IO_ALLOWED"
    );
}

#[test]
fn lower_layers_do_not_depend_on_config_or_daemon() {
    let mut bad = Vec::new();
    for dir in LOWER {
        for rel in sources(dir) {
            let v = violations(&read(&rel), UPPER, &module_path(&rel));
            bad.extend(v.into_iter().map(|v| format!("{rel}:{v}")));
        }
    }
    assert!(
        bad.is_empty(),
        "lower layers naming config/daemon (pass the settings in instead):\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_listed_module_has_sources() {
    for rel in SANS_IO.iter().chain(LOWER) {
        assert!(!sources(rel).is_empty(), "{rel}: no sources found");
    }
    for rel in IO_ALLOWED {
        assert!(
            root().join(rel).is_file(),
            "{rel} is gone: remove it from IO_ALLOWED"
        );
    }
}

// The scanner itself.

fn io_in(src: &str) -> Vec<String> {
    violations(src, IO, &module_path("src/auth/x.rs"))
}

#[test]
fn the_scanner_finds_io_in_code_paths_and_imports() {
    let src = "\
use std::{io::Write as _, thread as th};
use std::{
    fs,
    io::Read,
};
use std::net::TcpStream as Tcp;
fn f() {
    let t = std::time::Instant::now();
    tracing::info!(\"x\");
    std::thread::spawn(|| {});
    let _ = SystemTime::UNIX_EPOCH;
}
";
    assert_eq!(
        io_in(src),
        vec![
            "1: `std::thread`",
            "2: `std::fs`",
            "6: `std::net`",
            "8: `Instant::now`",
            "9: `tracing`",
            "10: `std::thread`",
            "11: `SystemTime`",
        ]
    );
}

#[test]
fn the_scanner_skips_tests_comments_and_strings() {
    let src = "\
//! Sans-IO: no std::fs, no tracing.
/// Not `Instant::now`.
fn f() -> &'static str {
    let c = '{';
    let q = '\\'';
    \"std::net and { SystemTime\" // std::thread
}
#[cfg(test)]
mod tests {
    use std::fs;
    fn g() { let _ = std::time::Instant::now(); }
}
#[cfg(test)]
fn helper(
    a: u32,
) -> u32 {
    tracing::info!(\"{a}\");
    a
}
#[cfg(test)]
mod more;
struct Retracing;
fn h() { std::fs::read(\"x\").ok(); }
";
    assert_eq!(io_in(src), vec!["23: `std::fs`"]);
}

#[test]
fn the_scanner_resolves_grouped_and_super_paths_to_the_upper_layers() {
    let store = module_path("src/store/dropcopy.rs");
    assert_eq!(store, vec!["store", "dropcopy"]);
    let src = "\
use crate::{types::Nanos, config::Config};
use super::super::daemon::Router;
use super::journal::Journal;
fn f(x: crate::daemon::X) -> usize { x.len() }
";
    assert_eq!(
        violations(src, UPPER, &store),
        vec![
            "1: `crate::config`",
            "2: `crate::daemon`",
            "4: `crate::daemon`"
        ]
    );
    // From src/store/mod.rs one `super::` is already the crate root.
    let v = violations(
        "use super::config::X;\n",
        UPPER,
        &module_path("src/store/mod.rs"),
    );
    assert_eq!(v, vec!["1: `crate::config`"]);
}
