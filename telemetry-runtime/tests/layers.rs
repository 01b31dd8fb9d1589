//! The runtime's top-level modules form a stack (ARCHITECTURE.md, "Layers"):
//! a module names only modules of its own layer or below, and no imports go
//! round in a circle. This test reads `src/` and fails on either.
//!
//! Every `crate::<module>` path counts, in code, tests and macro bodies
//! (doc comments are strings to the lexer, so doc links don't). A path
//! through the crate root's re-exports (`crate::Counter`) hides which
//! module it reaches, so outside `lib.rs` it fails too. Run it alone with
//! `cargo test -p telemetry-runtime --test layers -- --nocapture` to see
//! the graph.

use proc_macro2::{TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The stack, bottom first, with each layer's one job.
const LAYERS: &[(&str, &[&str])] = &[
    // What a declaration says and the rules for names; messages.
    (
        "foundation",
        &[
            "diag",
            "meta",
            "names",
            "translation",
            "labels",
            "attributes",
            "test_rng",
        ],
    ),
    // The environment's settings, the process's clocks, and the active
    // span as records see it.
    ("config and clock", &["clock", "config", "span"]),
    // Series, their cells and their attributes.
    ("storage", &["storage"]),
    // Declared instruments and what records into them.
    ("instruments", &["registry", "metered", "instruments"]),
    // What leaves the process: OTLP export, the runtime's own health
    // metrics, catalog, queries, snapshots.
    (
        "export and describe",
        &["describe", "export", "health", "snapshot"],
    ),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The top-level module a source file belongs to (`None` for `lib.rs`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(m) => Some(m.to_string()),
        None => Some(first.to_string()),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `X` of a `crate::X` in `tokens` (not `$crate::X`).
fn crate_paths(tokens: TokenStream, out: &mut Vec<String>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, t) in trees.iter().enumerate() {
        match t {
            TokenTree::Group(g) => crate_paths(g.stream(), out),
            TokenTree::Ident(id) if id == "crate" => {
                let dollar =
                    i > 0 && matches!(&trees[i - 1], TokenTree::Punct(p) if p.as_char() == '$');
                let colons = matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':')
                    && matches!(trees.get(i + 2), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if dollar || !colons {
                    continue;
                }
                match trees.get(i + 3) {
                    // `crate::some_macro!`: exported macros live at the
                    // root, and their expansion is not this module's import.
                    Some(TokenTree::Ident(_)) if matches!(trees.get(i + 4), Some(TokenTree::Punct(p)) if p.as_char() == '!') =>
                        {}
                    Some(TokenTree::Ident(next)) => out.push(next.to_string()),
                    // `use crate::{a::X, b};`
                    Some(TokenTree::Group(g)) => {
                        let mut head = true;
                        for t in g.stream() {
                            match t {
                                TokenTree::Ident(id) if head => {
                                    out.push(id.to_string());
                                    head = false;
                                }
                                TokenTree::Punct(p) if p.as_char() == ',' => head = true,
                                TokenTree::Punct(_) | TokenTree::Group(_) => head = false,
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

#[test]
fn modules_form_a_stack() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();

    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut faults = Vec::new();
    for file in &files {
        let Some(from) = module_of(&src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let tokens = TokenStream::from_str(&text)
            .unwrap_or_else(|e| panic!("{} does not lex: {e:?}", file.display()));
        let mut paths = Vec::new();
        crate_paths(tokens, &mut paths);
        edges.entry(from.clone()).or_default();
        for to in paths {
            if to == from {
                continue;
            }
            if layer_of(&to).is_none() {
                faults.push(format!(
                    "{}: `crate::{to}` goes through the crate root; name the module that defines it",
                    file.display()
                ));
                continue;
            }
            edges.entry(from.clone()).or_default().insert(to);
        }
    }

    for (from, tos) in &edges {
        let Some(lf) = layer_of(from) else {
            faults.push(format!(
                "module `{from}` is in no layer: add it to LAYERS and to ARCHITECTURE.md"
            ));
            continue;
        };
        for to in tos {
            let lt = layer_of(to).unwrap();
            if lt > lf {
                faults.push(format!(
                    "`{from}` ({}) imports `{to}` ({}), a layer above it",
                    LAYERS[lf].0, LAYERS[lt].0
                ));
            }
        }
    }

    // Cycles, within a layer too: a depth-first search for a back edge.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
        faults: &mut Vec<String>,
    ) {
        state.insert(m.to_string(), 1);
        path.push(m.to_string());
        for to in edges.get(m).into_iter().flatten() {
            match state.get(to.as_str()).copied().unwrap_or(0) {
                0 => visit(to, edges, state, path, faults),
                1 => {
                    let start = path.iter().position(|p| p == to).unwrap();
                    let mut circle = path[start..].to_vec();
                    circle.push(to.clone());
                    faults.push(format!("a circle of imports: {}", circle.join(" -> ")));
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(m.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    for m in edges.keys() {
        if !state.contains_key(m.as_str()) {
            visit(m, &edges, &mut state, &mut Vec::new(), &mut faults);
        }
    }

    for (i, (name, modules)) in LAYERS.iter().enumerate().rev() {
        println!("{i} {name}");
        for m in *modules {
            let tos: Vec<&str> = edges
                .get(*m)
                .into_iter()
                .flatten()
                .map(|s| s.as_str())
                .collect();
            println!("    {m} -> {}", tos.join(", "));
        }
    }
    faults.dedup();
    assert!(
        faults.is_empty(),
        "the layers are broken:\n{}",
        faults.join("\n")
    );
}
