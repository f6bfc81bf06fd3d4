//! Fuzzing with proptest, a bounded number of cases per target so that it runs in `cargo test` (and
//! so in CI): the stage-spec parser, TOML pipeline files, skill files and the glTF/VRM loader get
//! valid-looking inputs, random text, and mutations of real files (byte flips, truncations, inserted
//! bytes, overwritten 32-bit fields, and for glTF binaries edits of the JSON chunk's numbers and keys).
//! The property: no panic, and a failure is a typed `Error` of the kind the API documents.
//!
//! `DOPPEL_FUZZ_CASES` raises the case count for a longer local run.

use std::path::{Path, PathBuf};

use doppel_pipeline::avatar::GltfAvatar;
use doppel_pipeline::error::Error;
use doppel_pipeline::spec::{parse_pipeline_toml, parse_stages, StageSpec};
use doppel_pipeline::stages::{build_all, BuildContext};
use doppel_pipeline::style::{Skill, SkillLibrary};
use doppel_pipeline::Mode;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

mod common;
use common::root;

/// A runner with `cases` cases (or `DOPPEL_FUZZ_CASES`), no failure files written into the tree.
fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("DOPPEL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// One edit of a byte string.
#[derive(Clone, Debug)]
enum Mutation {
    Flip {
        at: usize,
        bits: u8,
    },
    Truncate {
        at: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
    /// A 32-bit little-endian field overwritten with a value that often breaks length arithmetic.
    Word {
        at: usize,
        value: u32,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, 1u8..=255).prop_map(|(at, bits)| Mutation::Flip { at, bits }),
        at.prop_map(|at| Mutation::Truncate { at }),
        (at, prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (at, 1usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (
            at,
            prop_oneof![
                Just(0u32),
                Just(1),
                Just(0x7fff_ffff),
                Just(u32::MAX),
                Just(0x8000_0000),
                any::<u32>()
            ]
        )
            .prop_map(|(at, value)| Mutation::Word { at, value }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len();
    let pos = |at: usize| if n == 0 { 0 } else { at % n };
    match m {
        Mutation::Flip { at, bits } => {
            if n > 0 {
                bytes[pos(*at)] ^= bits;
            }
        }
        Mutation::Truncate { at } => bytes.truncate(pos(*at)),
        Mutation::Insert { at, bytes: new } => {
            let p = pos(*at);
            bytes.splice(p..p, new.iter().copied());
        }
        Mutation::Delete { at, len } => {
            let p = pos(*at);
            let end = (p + len).min(n);
            bytes.drain(p..end);
        }
        Mutation::Word { at, value } => {
            if n >= 4 {
                let p = pos(*at).min(n - 4);
                bytes[p..p + 4].copy_from_slice(&value.to_le_bytes());
            }
        }
    }
}

fn mutated(base: &[u8], edits: &[Mutation]) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for m in edits {
        apply(&mut bytes, m);
    }
    bytes
}

// ---- stage specs ------------------------------------------------------------------------------

const NAMES: [&str; 8] = [
    "resize",
    "blur",
    "passthrough",
    "stylize",
    "onnx",
    "Track",
    "x1",
    "_bad",
];
const KEYS: [&str; 8] = [
    "width", "height", "radius", "backend", "blend", "model", "k-1", "=",
];
const VALUES: [&str; 10] = [
    "640",
    "-1",
    "0",
    "99999999999999999999",
    "cpu",
    "3:0.5,19:0.5",
    "",
    "a=b",
    "nan",
    "é,:=",
];

/// Specs built from real names, keys and values, joined as the grammar says (valid-looking).
fn spec_like() -> impl Strategy<Value = String> {
    let option =
        (0..KEYS.len(), 0..VALUES.len()).prop_map(|(k, v)| format!("{}={}", KEYS[k], VALUES[v]));
    let stage = (0..NAMES.len(), prop::collection::vec(option, 0..4)).prop_map(|(n, opts)| {
        std::iter::once(NAMES[n].to_string())
            .chain(opts)
            .collect::<Vec<_>>()
            .join(":")
    });
    prop::collection::vec(stage, 0..5).prop_map(|stages| stages.join(","))
}

fn spec_text() -> impl Strategy<Value = String> {
    prop_oneof![
        spec_like(),
        "[a-z0-9_:=,. -]{0,40}",
        any::<String>(),
        (spec_like(), prop::collection::vec(mutation(), 1..4)).prop_map(|(s, m)| {
            String::from_utf8_lossy(&mutated(s.as_bytes(), &m)).into_owned()
        }),
    ]
}

fn check_specs(specs: &[StageSpec]) -> Result<(), TestCaseError> {
    for spec in specs {
        prop_assert!(
            !spec.name.is_empty(),
            "a parsed stage has a name: {specs:?}"
        );
    }
    Ok(())
}

#[test]
fn stage_spec_parser_never_panics() {
    runner(3000)
        .run(&spec_text(), |text| {
            match parse_stages(&text) {
                Ok(specs) => {
                    check_specs(&specs)?;
                    // Cheap stages are built too: their option parsing sees the values.
                    if specs
                        .iter()
                        .all(|s| matches!(s.name.as_str(), "resize" | "passthrough"))
                    {
                        if let Err(e) = build_all(&specs, &BuildContext::new(Mode::Offline)) {
                            prop_assert!(
                                matches!(e, Error::Option { .. } | Error::Spec(_)),
                                "{text:?}: {e:?}"
                            );
                        }
                    }
                }
                Err(e) => prop_assert!(matches!(e, Error::Spec(_)), "{text:?}: {e:?}"),
            }
            Ok(())
        })
        .unwrap();
}

// ---- TOML pipelines -----------------------------------------------------------------------------

const PIPELINE: &str = r#"[[stage]]
name = "resize"
width = 640

[[stage]]
name = "blur"
radius = 2
backend = "cpu"

[[stage]]
name = "stylize"
blend = "3:0.5,19:0.5"
"#;

#[test]
fn toml_pipeline_parser_never_panics() {
    let text = prop_oneof![
        prop::collection::vec(mutation(), 1..6)
            .prop_map(|m| String::from_utf8_lossy(&mutated(PIPELINE.as_bytes(), &m)).into_owned()),
        "(\\[\\[stage\\]\\]\n|name = \"[a-z]{0,6}\"\n|[a-z]{1,6} = (-?[0-9]{1,22}|\"[^\"]{0,8}\"|true|\\[1, 2\\]|\\{a = 1\\}|1e999|nan)\n|\\[stage\\]\n|stage = 3\n){0,10}",
        any::<String>(),
    ];
    runner(3000)
        .run(&text, |text| {
            match parse_pipeline_toml(&text) {
                Ok(specs) => check_specs(&specs)?,
                Err(e) => prop_assert!(matches!(e, Error::Spec(_)), "{text:?}: {e:?}"),
            }
            Ok(())
        })
        .unwrap();
}

// ---- skill files --------------------------------------------------------------------------------

#[test]
fn skill_files_never_panic_and_broken_ones_are_skipped() {
    let shipped = root().join("assets/skills");
    let mut bases: Vec<Vec<u8>> = std::fs::read_dir(&shipped)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    bases.push(b"name = \"w\"\nkind = \"weights\"\nvalues = [1.0, 0.0, 0.5]\n".to_vec());
    bases.push(
        b"name = \"a\"\nkind = \"adapter\"\nadapter = \"a.onnx_adapter\"\nmodel = \"/nope.onnx\"\n"
            .to_vec(),
    );
    let dir = tempfile::tempdir().unwrap();
    let good = Skill::vector("good", vec![0.5; 100], "").unwrap();
    good.save(dir.path(), false).unwrap();
    let file = dir.path().join("fuzzed.toml");
    let n = bases.len();
    let strategy = (0..n, prop::collection::vec(mutation(), 1..5));
    runner(1500)
        .run(&strategy, |(base, edits)| {
            std::fs::write(&file, mutated(&bases[base], &edits)).unwrap();
            match Skill::load(&file) {
                Ok(skill) => prop_assert!(!skill.name.is_empty()),
                Err(e) => {
                    prop_assert!(matches!(e, Error::Input { .. }), "{e:?}");
                    prop_assert!(e.to_string().contains("fuzzed.toml"), "{e}");
                }
            }
            // Whatever the fuzzed file holds, the good skill next to it stays usable.
            let library = SkillLibrary::new(vec![dir.path().to_path_buf()]);
            let listing = library.list().unwrap();
            prop_assert!(listing.skills.iter().any(|s| s.name == "good"));
            prop_assert!(listing.skipped.len() <= 1);
            prop_assert!(library.find("good").is_ok());
            Ok(())
        })
        .unwrap();
}

// ---- glTF / VRM ---------------------------------------------------------------------------------

/// The glTF binaries to mutate: the bundled avatar, and the VRM test files of `shared/avatars` when
/// that folder is beside the repository.
fn gltf_bases() -> Vec<(String, Vec<u8>)> {
    let mut files = vec![root().join("assets/avatars/doppel-head.glb")];
    for shared in [
        root().join("../shared/avatars"),
        PathBuf::from("/work/shared/avatars"),
    ] {
        if let Ok(entries) = std::fs::read_dir(&shared) {
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "vrm" || x == "glb"))
                .collect();
            found.sort();
            files.extend(found);
            break;
        }
    }
    // Meshopt-compressed, quantized files (gltfpack output): the meshopt decoder under mutation.
    let packed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/avatars/gltfpack");
    if let Ok(entries) = std::fs::read_dir(&packed) {
        let mut found: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        found.sort();
        files.extend(found);
    }
    files
        .into_iter()
        .map(|p| {
            let ext = p.extension().unwrap().to_string_lossy().into_owned();
            (ext, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// Splits a GLB into its JSON and BIN chunks.
fn glb_chunks(bytes: &[u8]) -> (Value, Vec<u8>) {
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let json_len = word(12);
    let json: Value = serde_json::from_slice(&bytes[20..20 + json_len]).unwrap();
    let bin_at = 20 + json_len;
    let bin = if bin_at + 8 <= bytes.len() {
        let len = word(bin_at);
        bytes[bin_at + 8..bin_at + 8 + len].to_vec()
    } else {
        Vec::new()
    };
    (json, bin)
}

/// Packs JSON and BIN chunks into a GLB (chunks padded to 4 bytes as the format requires).
fn glb_pack(json: &Value, bin: &[u8]) -> Vec<u8> {
    let mut text = serde_json::to_vec(json).unwrap();
    while text.len() % 4 != 0 {
        text.push(b' ');
    }
    let mut bin = bin.to_vec();
    while bin.len() % 4 != 0 {
        bin.push(0);
    }
    let total = 12 + 8 + text.len() + if bin.is_empty() { 0 } else { 8 + bin.len() };
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&text);
    if !bin.is_empty() {
        out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
        out.extend_from_slice(b"BIN\0");
        out.extend_from_slice(&bin);
    }
    out
}

/// Every leaf of `value` as a JSON pointer.
fn leaves(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                leaves(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, format!("{at}/{i}"), out);
            }
        }
        _ => out.push(at),
    }
}

/// An edit of the JSON chunk: a leaf set to a troublesome value, or removed.
#[derive(Clone, Debug)]
enum JsonEdit {
    Set { leaf: usize, value: Value },
    Remove { leaf: usize },
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    let value = prop_oneof![
        Just(Value::from(0)),
        Just(Value::from(1)),
        Just(Value::from(-1)),
        Just(Value::from(3)),
        Just(Value::from(u32::MAX)),
        Just(Value::from(i64::MAX)),
        Just(Value::from(1e300)),
        Just(Value::from(0.5)),
        Just(Value::from("")),
        Just(Value::Null),
        Just(Value::from(vec![0, 0])),
        (0u64..100_000).prop_map(Value::from),
    ];
    prop_oneof![
        (any::<usize>(), value).prop_map(|(leaf, value)| JsonEdit::Set { leaf, value }),
        any::<usize>().prop_map(|leaf| JsonEdit::Remove { leaf }),
    ]
}

fn edit_json(json: &mut Value, edit: &JsonEdit) {
    let mut all = Vec::new();
    leaves(json, String::new(), &mut all);
    if all.is_empty() {
        return;
    }
    match edit {
        JsonEdit::Set { leaf, value } => {
            if let Some(slot) = json.pointer_mut(&all[leaf % all.len()]) {
                *slot = value.clone();
            }
        }
        JsonEdit::Remove { leaf } => {
            let pointer = &all[leaf % all.len()];
            let Some((parent, key)) = pointer.rsplit_once('/') else {
                return;
            };
            let key = key.replace("~1", "/").replace("~0", "~");
            match json.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&key);
                }
                Some(Value::Array(items)) => {
                    if let Ok(i) = key.parse::<usize>() {
                        if i < items.len() {
                            items.remove(i);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

#[test]
fn gltf_loader_never_panics() {
    let bases = gltf_bases();
    let parsed: Vec<(Value, Vec<u8>)> = bases.iter().map(|(_, b)| glb_chunks(b)).collect();
    let dir = tempfile::tempdir().unwrap();
    // The structure checks added for the gltf crate's panics refuse none of the real files.
    for (i, (ext, bytes)) in bases.iter().enumerate() {
        let path = dir.path().join(format!("real{i}.{ext}"));
        std::fs::write(&path, bytes).unwrap();
        if let Err(e) = GltfAvatar::load(&path) {
            let text = e.to_string();
            assert!(
                ![
                    "names accessor",
                    "componentType",
                    "needs a uri",
                    "glTF reader failed"
                ]
                .iter()
                .any(|m| text.contains(m)),
                "{text}"
            );
        }
    }
    let n = bases.len();
    let strategy = (
        0..n,
        prop_oneof![
            prop::collection::vec(mutation(), 1..4).prop_map(Err),
            prop::collection::vec(json_edit(), 1..4).prop_map(Ok),
        ],
    );
    runner(400)
        .run(&strategy, |(base, edits)| {
            let bytes = match &edits {
                Err(byte_edits) => mutated(&bases[base].1, byte_edits),
                Ok(json_edits) => {
                    let (mut json, bin) = parsed[base].clone();
                    for e in json_edits {
                        edit_json(&mut json, e);
                    }
                    glb_pack(&json, &bin)
                }
            };
            let path = dir.path().join(format!("fuzzed.{}", bases[base].0));
            std::fs::write(&path, &bytes).unwrap();
            if let Err(e) = GltfAvatar::load(&path) {
                prop_assert!(
                    matches!(e, Error::Input { .. } | Error::Io { .. }),
                    "{edits:?}: {e:?}"
                );
                prop_assert!(e.to_string().contains("fuzzed."), "{e}");
            }
            Ok(())
        })
        .unwrap();
}
