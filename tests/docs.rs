//! The README documents every configuration key and every environment variable the loader
//! reads, so the documentation cannot fall behind the code.

use globallm::config::Config;

fn keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    if let serde_json::Value::Object(map) = value {
        for (key, child) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            // Health signals are documented together as `scoring.health.<signal>`.
            if prefix == "scoring.health" {
                out.push(key.clone());
                continue;
            }
            if child.is_object() {
                keys(child, &path, out);
            } else {
                out.push(path);
            }
        }
    }
}

#[test]
fn the_readme_documents_every_config_key() {
    let readme = include_str!("../README.md");
    let defaults = serde_json::to_value(Config::default()).expect("serializes");
    let mut all = Vec::new();
    keys(&defaults, "", &mut all);
    let missing: Vec<&String> = all
        .iter()
        .filter(|k| !readme.contains(&format!("`{k}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not document {missing:?}"
    );
}

#[test]
fn the_readme_documents_every_environment_variable() {
    let readme = include_str!("../README.md");
    let loader = include_str!("../src/config/load.rs");
    let names: Vec<&str> = loader
        .split('"')
        .filter(|s| {
            s.len() > 9
                && s.starts_with("GLOBALLM_")
                && s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
        .collect();
    assert!(names.len() >= 10, "found {names:?}");
    let missing: Vec<&&str> = names
        .iter()
        .filter(|n| !readme.contains(&format!("`{n}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not document {missing:?}"
    );
}
