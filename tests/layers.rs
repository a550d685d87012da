//! The source tree's architecture, checked: each top folder of `src/` is one
//! stage and may use only the stages below it, and no group of modules uses
//! each other in a loop. Reads the code's own `crate::` paths (test modules
//! left out: a test may reach up for fixtures).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The stages, lowest first. A file may name only its own stage or lower ones.
const STAGES: [&str; 9] = [
    "util", "cpu", "gpu", "model", "encoder", "rec", "offline", "testing", "wasm",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/` (`src/rec/ranker/mod.rs` → `rec::ranker`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The code of a file without its test modules and comments.
fn code_without_tests(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") || t.starts_with("#[cfg(all(test") {
            // Skip the item that follows: a test module (to its closing brace at
            // the same indentation) or a one-line `mod tests;`.
            let indent = line.len() - t.len();
            if let Some(next) = lines.next() {
                if next.trim_end().ends_with('{') {
                    for rest in lines.by_ref() {
                        let r = rest.trim_start();
                        if rest.len() - r.len() == indent && r.starts_with('}') {
                            break;
                        }
                    }
                }
            }
            continue;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Every `crate::a::b…` path named in `code`, as its segments.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let segments: Vec<String> = path
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if !segments.is_empty() {
            paths.push(segments);
        }
    }
    // `use crate::{a::b, c}` groups: each member is a path of its own.
    for (at, _) in code.match_indices("crate::{") {
        let rest = &code[at + "crate::{".len()..];
        let group: String = rest.chars().take_while(|&c| c != '}').collect();
        for member in group.split(',') {
            let segments: Vec<String> = member
                .trim()
                .split("::")
                .filter(|s| !s.is_empty() && !s.contains(' '))
                .map(str::to_string)
                .collect();
            if !segments.is_empty() {
                paths.push(segments);
            }
        }
    }
    paths
}

struct Tree {
    /// Module path → its code (tests left out).
    modules: BTreeMap<Vec<String>, String>,
}

impl Tree {
    fn read() -> Self {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules = files
            .iter()
            .filter(|f| !f.starts_with(src.join("cli")) && !f.ends_with("main.rs"))
            .map(|f| {
                let text = std::fs::read_to_string(f).expect("read file");
                (module_of(&src, f), code_without_tests(&text))
            })
            // Files that hold only tests (`mod tests;`, `mod gpu_tests;`).
            .filter(|(m, _)| {
                !m.last()
                    .is_some_and(|n| n == "tests" || n.ends_with("_tests"))
            })
            .collect();
        Self { modules }
    }

    /// The longest module path that `path` starts with (the file it names).
    fn resolve(&self, path: &[String]) -> Option<Vec<String>> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| self.modules.contains_key(p))
    }

    /// File → files it names, parents and children left out (a parent
    /// declares and re-exports its children; children use their parent's types).
    fn edges(&self) -> Edges {
        let mut edges = Edges::new();
        for (module, code) in &self.modules {
            let targets = edges.entry(module.clone()).or_default();
            for path in crate_paths(code) {
                let Some(target) = self.resolve(&path) else {
                    continue;
                };
                let related = target.starts_with(module) || module.starts_with(&target);
                if !related {
                    targets.insert(target);
                }
            }
        }
        edges
    }
}

fn stage_of(module: &[String]) -> Option<usize> {
    let first = module.first()?;
    STAGES.iter().position(|s| s == first)
}

#[test]
fn every_stage_uses_only_the_stages_below_it() {
    let tree = Tree::read();
    assert!(
        tree.modules.len() > 40,
        "found {} modules",
        tree.modules.len()
    );
    let mut upward = Vec::new();
    for (from, targets) in tree.edges() {
        let Some(own) = stage_of(&from) else { continue };
        for to in targets {
            if let Some(theirs) = stage_of(&to) {
                if theirs > own {
                    upward.push(format!("{} → {}", from.join("::"), to.join("::")));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "uses of a higher stage:\n{}",
        upward.join("\n")
    );
}

type Edges = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

/// Every loop a depth-first search closes, as `a → b → a`.
fn loops_in(edges: &Edges) -> Vec<String> {
    fn visit(
        node: &Vec<String>,
        edges: &Edges,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
        loops: &mut Vec<String>,
    ) {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                0 => visit(next, edges, state, stack, loops),
                1 => {
                    let start = stack.iter().position(|m| m == next).unwrap_or(0);
                    let names: Vec<String> = stack[start..].iter().map(|m| m.join("::")).collect();
                    loops.push(format!("{} → {}", names.join(" → "), next.join("::")));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
    }
    let mut state = BTreeMap::new();
    let mut loops = Vec::new();
    for node in edges.keys() {
        if !state.contains_key(node) {
            visit(node, edges, &mut state, &mut Vec::new(), &mut loops);
        }
    }
    loops
}

#[test]
fn no_modules_use_each_other_in_a_loop() {
    let loops = loops_in(&Tree::read().edges());
    assert!(loops.is_empty(), "module loops:\n{}", loops.join("\n"));
}

#[test]
fn the_checks_see_an_upward_use_and_a_loop() {
    // The reader itself: a path inside a test module is left out, one outside is seen.
    let code = "use crate::rec::ranker::Ranker;\n#[cfg(test)]\nmod tests {\n    use crate::offline::eval;\n}\n";
    let paths = crate_paths(&code_without_tests(code));
    assert_eq!(paths, vec![vec!["rec", "ranker", "Ranker"]]);
    let grouped = crate_paths("use crate::{encoder::Encoder, rec::index};");
    assert!(grouped.contains(&vec!["encoder".to_string(), "Encoder".to_string()]));
    assert!(grouped.contains(&vec!["rec".to_string(), "index".to_string()]));
    assert!(stage_of(&["offline".to_string()]) > stage_of(&["rec".to_string()]));
    let m = |s: &str| vec![s.to_string()];
    let mut edges = Edges::new();
    edges.entry(m("a")).or_default().insert(m("b"));
    edges.entry(m("b")).or_default().insert(m("c"));
    assert!(loops_in(&edges).is_empty());
    edges.entry(m("c")).or_default().insert(m("a"));
    assert_eq!(loops_in(&edges), vec!["a → b → c → a".to_string()]);
}
