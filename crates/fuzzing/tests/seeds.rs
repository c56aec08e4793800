//! Runs every seed (fuzz/seeds/<target>/) and every regression input (inputs that once
//! made a target panic, fuzz/regressions/<target>/) through the fuzz targets' bodies, so
//! that the targets build and hold on stable Rust, where `cargo fuzz` does not run.

use std::path::{Path, PathBuf};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz").join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_seed_and_regression_input_runs_without_a_panic() {
    for (target, body) in gatehouse_fuzzing::TARGETS {
        let seeds = inputs("seeds", target);
        assert!(seeds.len() >= 3, "fuzz/seeds/{target} should hold a handful of seeds");
        for path in seeds.iter().chain(&inputs("regressions", target)) {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            body(&data);
        }
    }
}
