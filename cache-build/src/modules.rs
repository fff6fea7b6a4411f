//! Places files in a crate's module tree by following `mod name;` items
//! from the target's root file, the way rustc finds module files.

use std::collections::{BTreeMap, HashSet};

use crate::cache_file::FileRecord;

/// Every file reachable from `root_file`, with its module path (starting
/// with `crate_name`).
pub(crate) fn place(
    files: &BTreeMap<String, FileRecord>,
    root_file: &str,
    crate_name: &str,
) -> Vec<(String, Vec<String>)> {
    let mut placed = Vec::new();
    let mut seen = HashSet::new();
    let mut queue = vec![(root_file.to_owned(), vec![crate_name.to_owned()], true)];
    while let Some((file, module, owns_folder)) = queue.pop() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let Some(record) = files.get(&file) else {
            continue;
        };
        let folder = parent(&file);
        // Where `mod x;` looks for x: beside a root or mod.rs file, else in
        // a folder named after this file.
        let base = if owns_folder {
            folder.clone()
        } else {
            join(&folder, stem(&file))
        };
        for child in &record.decls.mods {
            let mut child_module = module.clone();
            child_module.extend(child.inline_path.iter().cloned());
            child_module.push(child.name.clone());
            let inline = child.inline_path.join("/");
            let candidates = match &child.path_attr {
                Some(path) if inline.is_empty() => vec![(normalize(&join(&folder, path)), true)],
                Some(path) => vec![(normalize(&join(&join(&base, &inline), path)), true)],
                None => {
                    let dir = if inline.is_empty() {
                        base.clone()
                    } else {
                        join(&base, &inline)
                    };
                    vec![
                        (join(&dir, &format!("{}.rs", child.name)), false),
                        (join(&dir, &format!("{}/mod.rs", child.name)), true),
                    ]
                }
            };
            if let Some((path, owns)) = candidates
                .into_iter()
                .find(|(path, _)| files.contains_key(path))
            {
                let owns = owns || path.ends_with("/mod.rs");
                queue.push((path, child_module, owns));
            }
        }
        placed.push((file, module));
    }
    placed.sort();
    placed
}

fn parent(path: &str) -> String {
    path.rsplit_once('/')
        .map(|(p, _)| p.to_owned())
        .unwrap_or_default()
}

fn stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".rs").unwrap_or(name)
}

fn join(folder: &str, rest: &str) -> String {
    if folder.is_empty() {
        rest.to_owned()
    } else {
        format!("{folder}/{rest}")
    }
}

/// Resolves `.` and `..` components.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(source: &str) -> FileRecord {
        FileRecord::parsed(source)
    }

    #[test]
    fn follows_mod_items_like_rustc() {
        let mut files = BTreeMap::new();
        files.insert(
            "src/lib.rs".into(),
            record("mod a; mod b; pub mod outer { mod c; } #[path = \"elsewhere/d.rs\"] mod d;"),
        );
        files.insert("src/a.rs".into(), record("mod nested;"));
        files.insert("src/a/nested.rs".into(), record(""));
        files.insert("src/b/mod.rs".into(), record("mod inner;"));
        files.insert("src/b/inner.rs".into(), record(""));
        files.insert("src/outer/c.rs".into(), record(""));
        files.insert("src/elsewhere/d.rs".into(), record(""));
        files.insert("src/orphan.rs".into(), record(""));
        files.insert("src/main.rs".into(), record(""));
        let placed: BTreeMap<String, String> = place(&files, "src/lib.rs", "app")
            .into_iter()
            .map(|(file, module)| (file, module.join("::")))
            .collect();
        let expected: BTreeMap<String, String> = [
            ("src/lib.rs", "app"),
            ("src/a.rs", "app::a"),
            ("src/a/nested.rs", "app::a::nested"),
            ("src/b/mod.rs", "app::b"),
            ("src/b/inner.rs", "app::b::inner"),
            ("src/outer/c.rs", "app::outer::c"),
            ("src/elsewhere/d.rs", "app::d"),
        ]
        .into_iter()
        .map(|(f, m)| (f.to_string(), m.to_string()))
        .collect();
        assert_eq!(placed, expected);
    }
}
