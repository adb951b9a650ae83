//! The README cannot drift from what compiles: its `[dependencies]` snippet is this
//! package's (odm's `path` aside), its tour is `src/main.rs`, and the tour runs.

use std::path::Path;
use std::process::Command;

const README: &str = include_str!("../../../README.md");
const MANIFEST: &str = include_str!("../Cargo.toml");
const MAIN: &str = include_str!("../src/main.rs");

/// The first fenced block of `lang` after the line `heading`.
fn block<'a>(text: &'a str, heading: &str, lang: &str) -> &'a str {
    let after = &text[text
        .find(heading)
        .unwrap_or_else(|| panic!("README has {heading}"))..];
    let fence = format!("```{lang}\n");
    let start = after.find(&fence).expect("a fenced block") + fence.len();
    let len = after[start..].find("```").expect("a closed block");
    &after[start..start + len]
}

/// The `[dependencies]` lines of a manifest, with odm's local path taken out.
fn dependencies(manifest: &str) -> Vec<String> {
    let section = &manifest[manifest.find("[dependencies]\n").expect("[dependencies]")..];
    section
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| l.replace(r#"{ version = "0.1", path = "../../odm" }"#, r#""0.1""#))
        .collect()
}

#[test]
fn the_install_snippet_is_this_packages_dependencies() {
    let snippet = block(README, "## Install", "toml");
    assert_eq!(
        snippet.lines().map(str::to_string).collect::<Vec<_>>(),
        dependencies(MANIFEST)
    );
}

#[test]
fn the_tour_is_this_packages_program() {
    let tour = block(README, "## A tour", "rust");
    let begin = MAIN.find("// README tour begins\n").expect("begin marker") + 22;
    let end = MAIN.find("// README tour ends").expect("end marker");
    assert_eq!(
        tour,
        &MAIN[begin..end],
        "README tour and src/main.rs differ"
    );
}

#[test]
fn the_tour_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_odm-readme"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the tour failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(Path::new(&dir.path().join("data")).is_dir());
}

/// The server's command line and log output are the binary's: an application that
/// depends on odm (with its default, embedded server) does not compile them.
#[test]
fn the_application_does_not_compile_the_servers_cli() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "odm-readme",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        tree.contains("odm-server"),
        "the embedded server is in: {tree}"
    );
    for cli_only in ["clap ", "tracing-subscriber "] {
        assert!(
            !tree.contains(cli_only),
            "{cli_only}is compiled into applications"
        );
    }
}
