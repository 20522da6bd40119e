//! Use cases, grouped by the context that owns them. Database transactions live here; routes stay
//! thin and domain stays pure. Contexts depend downwards only — `audit` and `cache` at the bottom,
//! then access ← uploads ← setup ← transparency ← inbox ← messaging ← billing ← points ← collection ← plans ← payments ← autodebit ← tickets ← reports ← jobs, and `demo` on top — and no module
//! imports one that imports it back (`tests` below keeps both true).
pub mod access;
pub mod audit;
pub mod autodebit;
pub mod billing;
pub mod cache;
pub mod collection;
pub mod demo;
pub mod inbox;
pub mod jobs;
pub mod messaging;
pub mod payments;
pub mod plans;
pub mod points;
pub mod reports;
pub mod setup;
pub mod tickets;
pub mod transparency;
pub mod uploads;

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Contexts from the bottom up: each may use those before it, never one after it.
    const LAYERS: [&str; 18] = [
        "audit",
        "cache",
        "access",
        "uploads",
        "setup",
        "transparency",
        "inbox",
        "messaging",
        "billing",
        "points",
        "collection",
        "plans",
        "payments",
        "autodebit",
        "tickets",
        "reports",
        "jobs",
        "demo",
    ];

    /// `services::` module paths each service module names (outside its tests).
    fn uses() -> BTreeMap<String, BTreeSet<String>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/services");
        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(d).expect("read").flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
        let name = |p: &Path| {
            let rel = p.strip_prefix(&root).expect("under services").with_extension("");
            let parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
            parts.into_iter().filter(|s| s != "mod").collect::<Vec<_>>().join("::")
        };
        let modules: BTreeSet<String> = files.iter().map(|p| name(p)).collect();
        let path = regex::Regex::new(r"services::([a-z_]+(?:::[a-z_]+)*)").expect("regex");
        let grouped = regex::Regex::new(r"services::\{([^}]*)\}").expect("regex");
        let mut out = BTreeMap::new();
        for p in &files {
            let me = name(p);
            let text = std::fs::read_to_string(p).expect("read");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
            let mut refs: Vec<String> = path.captures_iter(&code).map(|c| c[1].to_string()).collect();
            for g in grouped.captures_iter(&code) {
                refs.extend(
                    g[1].split(',')
                        .map(|s| s.trim().split("::").next().unwrap_or_default().to_string()),
                );
            }
            let mut used = BTreeSet::new();
            for r in refs {
                let parts: Vec<&str> = r.split("::").collect();
                if let Some(m) = (1..=parts.len())
                    .rev()
                    .map(|k| parts[..k].join("::"))
                    .find(|m| modules.contains(m) && *m != me)
                {
                    used.insert(m);
                }
            }
            out.insert(me, used);
        }
        out
    }

    fn layer(module: &str) -> usize {
        let context = module.split("::").next().unwrap_or_default();
        LAYERS
            .iter()
            .position(|l| *l == context)
            .unwrap_or_else(|| panic!("{module}: a context not in LAYERS"))
    }

    #[test]
    fn contexts_depend_downwards_only_and_modules_have_no_cycles() {
        let graph = uses();
        assert!(graph.len() > 30, "the scan must see every service module");
        for (from, tos) in &graph {
            for to in tos {
                assert!(
                    layer(to) <= layer(from),
                    "{from} uses {to}: a lower context must not use a higher one"
                );
            }
        }
        // Depth-first search for a module that reaches itself.
        fn reaches(
            graph: &BTreeMap<String, BTreeSet<String>>,
            from: &str,
            target: &str,
            seen: &mut BTreeSet<String>,
        ) -> bool {
            graph
                .get(from)
                .into_iter()
                .flatten()
                .any(|next| next == target || (seen.insert(next.clone()) && reaches(graph, next, target, seen)))
        }
        for m in graph.keys() {
            assert!(
                !reaches(&graph, m, m, &mut BTreeSet::new()),
                "{m} is part of an import cycle"
            );
        }
    }
}
