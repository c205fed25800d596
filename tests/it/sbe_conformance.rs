//! Conformance of the iLink 3 codec's field table with CME's official SBE schema.
//!
//! Reads `spec/cme/ilinkbinary-v9.xml` (the copy of CME's schema kept in this repository, path
//! relative to the crate root, or env `ILINK3_SCHEMA`) and `-v8.xml` beside it (or env
//! `ILINK3_SCHEMA_V8`), and checks every message in `ilinkd::ilink3::MESSAGES`: template id,
//! name, blockLength, and for every non-constant field of the root block and of each repeating
//! group its offset, primitive type, length, size, null value and version; group dimension types
//! and block lengths; var-data fields. A missing schema file fails the test (see
//! `spec/cme/README.md`).

use ilinkd::ilink3::{FieldDesc, MessageDesc, Primitive, MESSAGES};
use roxmltree::{Document, Node};
use std::collections::HashMap;
use std::path::PathBuf;

fn schema_paths() -> (PathBuf, PathBuf) {
    let v9 = std::env::var_os("ILINK3_SCHEMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("spec/cme/ilinkbinary-v9.xml")
        });
    let v8 = std::env::var_os("ILINK3_SCHEMA_V8")
        .map(PathBuf::from)
        .unwrap_or_else(|| v9.with_file_name("ilinkbinary-v8.xml"));
    (v9, v8)
}

/// Reads a schema file; panics, saying where it looked and what to do, if it cannot.
fn read_schema(path: &PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "SBE CONFORMANCE TEST COULD NOT RUN: cannot read iLink 3 schema {}: {e}\n\
             The repository keeps CME's schemas in spec/cme/ (see spec/cme/README.md): restore \
             them from git (`git checkout -- spec/cme`), or set ILINK3_SCHEMA (and \
             ILINK3_SCHEMA_V8) to the files' paths.",
            path.display()
        )
    })
}

/// What the schema says about one field.
#[derive(Debug, Clone, PartialEq)]
struct XmlField {
    name: String,
    offset: usize,
    primitive: String,
    length: usize,
    size: usize,
    null_value: Option<i128>,
    since_version: u16,
}

struct Schema<'a> {
    types: HashMap<String, Node<'a, 'a>>,
    messages: HashMap<u16, Node<'a, 'a>>,
    root: Node<'a, 'a>,
}

fn prim_size(p: &str) -> usize {
    match p {
        "char" | "int8" | "uint8" => 1,
        "int16" | "uint16" => 2,
        "int32" | "uint32" | "float" => 4,
        "int64" | "uint64" | "double" => 8,
        other => panic!("unknown primitive {other}"),
    }
}

fn default_null(p: &str) -> i128 {
    match p {
        "char" => 0,
        "int8" => i8::MIN as i128,
        "uint8" => u8::MAX as i128,
        "uint16" => u16::MAX as i128,
        "int32" => i32::MIN as i128,
        "uint32" => u32::MAX as i128,
        "int64" => i64::MIN as i128,
        "uint64" => u64::MAX as i128,
        other => panic!("no null for {other}"),
    }
}

impl<'a> Schema<'a> {
    fn new(doc: &'a Document<'a>) -> Self {
        let root = doc.root_element();
        let mut types = HashMap::new();
        let mut messages = HashMap::new();
        for n in root.descendants().filter(|n| n.is_element()) {
            match n.tag_name().name() {
                "type" | "composite" | "enum" | "set"
                    if n.parent_element().map(|p| p.tag_name().name()) == Some("types") =>
                {
                    types.insert(n.attribute("name").unwrap().to_string(), n);
                }
                "message" => {
                    let id: u16 = n.attribute("id").unwrap().parse().unwrap();
                    messages.insert(id, n);
                }
                _ => {}
            }
        }
        Schema {
            types,
            messages,
            root,
        }
    }

    /// (primitive, length, size, null) of a type name; `None` for constants.
    fn resolve(&self, ty: &str) -> Option<(String, usize, usize, Option<i128>)> {
        const PRIMS: [&str; 8] = [
            "char", "int8", "uint8", "uint16", "int32", "uint32", "int64", "uint64",
        ];
        if PRIMS.contains(&ty) {
            return Some((ty.to_string(), 1, prim_size(ty), None));
        }
        let t = *self
            .types
            .get(ty)
            .unwrap_or_else(|| panic!("type {ty} not in schema"));
        match t.tag_name().name() {
            "type" => {
                if t.attribute("presence") == Some("constant") {
                    return None;
                }
                let p = t.attribute("primitiveType").unwrap().to_string();
                let len: usize = t.attribute("length").map_or(1, |l| l.parse().unwrap());
                let null = if t.attribute("presence") == Some("optional") && len == 1 {
                    Some(
                        t.attribute("nullValue")
                            .map_or(default_null(&p), |v| v.parse().unwrap()),
                    )
                } else {
                    None
                };
                let size = prim_size(&p) * len;
                Some((p, len, size, null))
            }
            "enum" | "set" => self.resolve(t.attribute("encodingType").unwrap()),
            "composite" => {
                let members: Vec<_> = t
                    .children()
                    .filter(|c| c.is_element())
                    .filter(|c| c.attribute("presence") != Some("constant"))
                    .collect();
                let first = members.first().expect("composite with no members");
                let p = first.attribute("primitiveType").unwrap().to_string();
                let null = (first.attribute("presence") == Some("optional")).then(|| {
                    first
                        .attribute("nullValue")
                        .map_or(default_null(&p), |v| v.parse().unwrap())
                });
                let size = members
                    .iter()
                    .map(|m| {
                        prim_size(m.attribute("primitiveType").unwrap())
                            * m.attribute("length").map_or(1, |l| l.parse().unwrap())
                    })
                    .sum();
                Some((p, 1, size, null))
            }
            other => panic!("unexpected type kind {other} for {ty}"),
        }
    }

    /// Non-constant fields directly under `node` (a message or a group).
    fn fields(&self, node: Node) -> Vec<XmlField> {
        node.children()
            .filter(|c| c.is_element() && c.tag_name().name() == "field")
            .filter_map(|f| {
                let name = f.attribute("name").unwrap().to_string();
                let (primitive, length, size, null_value) = self.resolve(f.attribute("type")?)?;
                let offset = f
                    .attribute("offset")
                    .unwrap_or_else(|| panic!("field {name} has no offset"))
                    .parse()
                    .unwrap();
                let since: u16 = f
                    .attribute("sinceVersion")
                    .map_or(0, |v| v.parse().unwrap());
                Some(XmlField {
                    name,
                    offset,
                    primitive,
                    length,
                    size,
                    null_value,
                    // The codec marks only what version 8 lacks.
                    since_version: if since > 8 { since } else { 0 },
                })
            })
            .collect()
    }
}

fn ours(f: &FieldDesc) -> XmlField {
    XmlField {
        name: f.name.to_string(),
        offset: f.offset,
        primitive: f.primitive.name().to_string(),
        length: f.length,
        size: f.size,
        null_value: f.null_value,
        since_version: f.since_version,
    }
}

/// Compares a block's fields; returns the problems found.
fn compare_fields(
    ctx: &str,
    xml: &[XmlField],
    mine: &[FieldDesc],
    max_version: u16,
) -> Vec<String> {
    let mut errs = Vec::new();
    let mine: Vec<XmlField> = mine
        .iter()
        .filter(|f| f.since_version <= max_version)
        .map(ours)
        .collect();
    for x in xml {
        match mine.iter().find(|m| m.name == x.name) {
            None => errs.push(format!("{ctx}: schema field {} missing from codec", x.name)),
            Some(m) if m != x => errs.push(format!(
                "{ctx}: field differs\n  schema {x:?}\n  codec  {m:?}"
            )),
            Some(_) => {}
        }
    }
    for m in &mine {
        if !xml.iter().any(|x| x.name == m.name) {
            errs.push(format!("{ctx}: codec field {} not in schema", m.name));
        }
    }
    errs
}

/// Checks no two codec fields overlap and all fit the block.
fn check_layout(ctx: &str, fields: &[FieldDesc], block: usize, errs: &mut Vec<String>) {
    let mut v: Vec<_> = fields.iter().collect();
    v.sort_by_key(|f| f.offset);
    for w in v.windows(2) {
        if w[0].offset + w[0].size > w[1].offset {
            errs.push(format!("{ctx}: {} overlaps {}", w[0].name, w[1].name));
        }
    }
    if let Some(last) = v.last() {
        if last.offset + last.size > block {
            errs.push(format!("{ctx}: {} runs past block {block}", last.name));
        }
    }
}

fn check_message(s: &Schema, d: &MessageDesc, version: u16, errs: &mut Vec<String>) {
    if d.since_version > version {
        if s.messages.contains_key(&d.template_id) {
            errs.push(format!(
                "v{version}: template {} ({}) is in the schema, codec marks it version {}",
                d.template_id, d.name, d.since_version
            ));
        }
        return;
    }
    let Some(m) = s.messages.get(&d.template_id) else {
        errs.push(format!(
            "v{version}: template {} ({}) not in schema",
            d.template_id, d.name
        ));
        return;
    };
    let ctx = format!("v{version} {}", d.name);
    if m.attribute("name") != Some(d.name) {
        errs.push(format!("{ctx}: schema name is {:?}", m.attribute("name")));
    }
    let want_block = if version == 9 {
        d.block_length
    } else {
        d.min_block_length
    };
    let block: usize = m.attribute("blockLength").unwrap().parse().unwrap();
    if block != want_block {
        errs.push(format!(
            "{ctx}: blockLength {block}, codec has {want_block}"
        ));
    }
    errs.extend(compare_fields(&ctx, &s.fields(*m), d.fields, version));
    check_layout(&ctx, d.fields, d.block_length, errs);

    let groups: Vec<_> = m
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "group")
        .collect();
    let names: Vec<_> = groups
        .iter()
        .map(|g| g.attribute("name").unwrap())
        .collect();
    let mine: Vec<_> = d.groups.iter().map(|g| g.name).collect();
    if names != mine {
        errs.push(format!("{ctx}: groups {names:?}, codec has {mine:?}"));
    }
    for (g, gd) in groups.iter().zip(d.groups) {
        let gctx = format!("{ctx}.{}", gd.name);
        let dim = g.attribute("dimensionType").unwrap_or("groupSize");
        if dim != gd.dimension_type {
            errs.push(format!(
                "{gctx}: dimensionType {dim}, codec has {}",
                gd.dimension_type
            ));
        }
        let bl: usize = g.attribute("blockLength").unwrap().parse().unwrap();
        let want = if version == 9 {
            gd.block_length
        } else {
            gd.min_block_length
        };
        if bl != want {
            errs.push(format!("{gctx}: blockLength {bl}, codec has {want}"));
        }
        errs.extend(compare_fields(&gctx, &s.fields(*g), gd.fields, version));
        check_layout(&gctx, gd.fields, gd.block_length, errs);
        if g.children()
            .any(|c| c.is_element() && c.tag_name().name() != "field")
        {
            errs.push(format!(
                "{gctx}: nested groups/data not supported by the codec"
            ));
        }
    }
    let data: Vec<_> = m
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "data")
        .map(|c| {
            if c.attribute("type") != Some("DATA") {
                errs.push(format!("{ctx}: var data type {:?}", c.attribute("type")));
            }
            c.attribute("name").unwrap()
        })
        .collect();
    if data != d.var_data {
        errs.push(format!(
            "{ctx}: var data {data:?}, codec has {:?}",
            d.var_data
        ));
    }
}

/// Checks messageHeader, groupSize and DATA composites as the codec hard-codes them.
fn check_framing_types(s: &Schema, version: u16, errs: &mut Vec<String>) {
    let members = |name: &str| -> Vec<(String, String)> {
        s.types[name]
            .children()
            .filter(|c| c.is_element())
            .map(|c| {
                (
                    c.attribute("name").unwrap().to_string(),
                    c.attribute("primitiveType").unwrap().to_string(),
                )
            })
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let expect = [
        (
            "messageHeader",
            pairs(&[
                ("blockLength", "uint16"),
                ("templateId", "uint16"),
                ("schemaId", "uint16"),
                ("version", "uint16"),
            ]),
        ),
        (
            "groupSize",
            pairs(&[("blockLength", "uint16"), ("numInGroup", "uint8")]),
        ),
        ("DATA", pairs(&[("length", "uint16"), ("varData", "char")])),
    ];
    for (name, want) in expect {
        let got = members(name);
        if got != want {
            errs.push(format!(
                "v{version}: composite {name} is {got:?}, codec assumes {want:?}"
            ));
        }
    }
    let attr = |a: &str| s.root.attribute(a).unwrap_or("");
    if attr("id") != "8"
        || attr("byteOrder") != "littleEndian"
        || attr("version") != version.to_string()
    {
        errs.push(format!(
            "v{version}: schema id={} version={} byteOrder={}",
            attr("id"),
            attr("version"),
            attr("byteOrder")
        ));
    }
    // Fixed field encodings the codec relies on.
    let price = s.resolve("PRICENULL9").unwrap();
    assert_eq!(price, ("int64".to_string(), 1, 8, Some(i64::MAX as i128)));
    let exp = s.types["PRICE9"]
        .children()
        .find(|c| c.attribute("name") == Some("exponent"))
        .and_then(|c| c.text())
        .map(str::trim);
    if exp != Some("-9") {
        errs.push(format!("v{version}: PRICE9 exponent {exp:?}"));
    }
}

fn run(version: u16, path: &PathBuf) -> Vec<String> {
    let text = read_schema(path);
    let doc = Document::parse(&text).expect("schema is well-formed XML");
    let s = Schema::new(&doc);
    let mut errs = Vec::new();
    check_framing_types(&s, version, &mut errs);
    for d in MESSAGES {
        check_message(&s, d, version, &mut errs);
    }
    errs
}

#[test]
fn codec_matches_schema_v9() {
    let (v9, _) = schema_paths();
    let errs = run(9, &v9);
    assert!(
        errs.is_empty(),
        "{} mismatches:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

#[test]
fn codec_matches_schema_v8() {
    let (_, v8) = schema_paths();
    let errs = run(8, &v8);
    assert!(
        errs.is_empty(),
        "{} mismatches:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

/// Templates whose root block grew from version 8 to 9, and templates version 9 added: every
/// version 9 field past the version 8 block is read only when the peer's block holds it.
#[test]
fn version_9_additions_lie_past_the_version_8_block() {
    let grew: Vec<u16> = MESSAGES
        .iter()
        .filter(|d| d.block_length != d.min_block_length)
        .map(|d| d.template_id)
        .collect();
    assert_eq!(grew, vec![501, 502, 504, 505, 545, 548, 549, 550, 563]);
    let added: Vec<u16> = MESSAGES
        .iter()
        .filter(|d| d.since_version == 9)
        .map(|d| d.template_id)
        .collect();
    assert_eq!(added, vec![566, 567, 568, 569, 570, 571]);
    for d in MESSAGES {
        for f in d.fields {
            let newer = f.offset + f.size > d.min_block_length;
            assert_eq!(
                newer,
                f.since_version == 9,
                "{}.{}: offset {} size {}, version 8 block {}, since {}",
                d.name,
                f.name,
                f.offset,
                f.size,
                d.min_block_length,
                f.since_version
            );
        }
        for g in d.groups {
            for f in g.fields {
                let newer = f.offset + f.size > g.min_block_length;
                assert_eq!(
                    newer,
                    f.since_version == 9,
                    "{}.{}.{}",
                    d.name,
                    g.name,
                    f.name
                );
            }
        }
    }
    for d in MESSAGES.iter().filter(|d| d.template_id <= 505) {
        if d.block_length != d.min_block_length {
            let ext: Vec<_> = d.fields.iter().filter(|f| f.since_version == 9).collect();
            assert_eq!(ext.len(), 1);
            assert_eq!(ext[0].name, "EnvironmentIndicator");
            assert_eq!(ext[0].offset, d.min_block_length);
            assert_eq!(ext[0].primitive, Primitive::Uint8);
        }
    }
}

/// Every template of `ilinkbinary-v9.xml` (56) is in the codec, and no other; every template of
/// `-v8.xml` is one the codec accepts from a version 8 peer.
#[test]
fn every_template_of_the_schema_is_implemented() {
    let (v9, v8) = schema_paths();
    let ids_of = |path: &PathBuf| -> Vec<u16> {
        let text = read_schema(path);
        let doc = Document::parse(&text).expect("schema is well-formed XML");
        let mut ids: Vec<u16> = Schema::new(&doc).messages.keys().copied().collect();
        ids.sort_unstable();
        ids
    };
    let mut ours: Vec<u16> = MESSAGES.iter().map(|d| d.template_id).collect();
    ours.sort_unstable();
    let schema9 = ids_of(&v9);
    assert_eq!(schema9.len(), 56);
    assert_eq!(ours, schema9, "codec templates vs ilinkbinary-v9.xml");
    let mut ours8: Vec<u16> = MESSAGES
        .iter()
        .filter(|d| d.since_version <= 8)
        .map(|d| d.template_id)
        .collect();
    ours8.sort_unstable();
    assert_eq!(ours8, ids_of(&v8), "codec templates vs ilinkbinary-v8.xml");
}
