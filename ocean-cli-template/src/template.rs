//! The integration template `ocean new` renders: files embedded in the binary (the
//! `template/` folder of this crate) and rendered in memory with minijinja, so nothing is
//! written until every file rendered.

use anyhow::{Context as _, Result, bail};
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;
use std::collections::BTreeMap;

/// A file of the template: the path it is written to (itself a template) and its source.
struct TemplateFile {
    path: &'static str,
    source: &'static str,
}

const FILES: &[TemplateFile] = &[
    TemplateFile {
        path: "Cargo.toml",
        source: include_str!("../template/Cargo.toml.jinja"),
    },
    TemplateFile {
        path: "src/main.rs",
        source: include_str!("../template/src/main.rs.jinja"),
    },
    TemplateFile {
        path: "src/tests.rs",
        source: include_str!("../template/src/tests.rs.jinja"),
    },
    TemplateFile {
        path: "sample/{{ kind }}s.json",
        source: include_str!("../template/sample/items.json.jinja"),
    },
    TemplateFile {
        path: ".port/spec.yaml",
        source: include_str!("../template/.port/spec.yaml.jinja"),
    },
    TemplateFile {
        path: ".port/resources/blueprints.json",
        source: include_str!("../template/.port/resources/blueprints.json.jinja"),
    },
    TemplateFile {
        path: ".port/resources/port-app-config.yml",
        source: include_str!("../template/.port/resources/port-app-config.yml.jinja"),
    },
    TemplateFile {
        path: ".env.example",
        source: include_str!("../template/env.example.jinja"),
    },
    TemplateFile {
        path: ".gitignore",
        source: include_str!("../template/gitignore.jinja"),
    },
    TemplateFile {
        path: "Dockerfile",
        source: include_str!("../template/Dockerfile.jinja"),
    },
    TemplateFile {
        path: "README.md",
        source: include_str!("../template/README.md.jinja"),
    },
];

/// How the new crate depends on the framework.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Framework {
    /// `ocean-core = { path = "..." }`: the `ocean-core` folder of a checkout.
    Path(String),
    /// `ocean-core = { git = "..." }`: a git repository holding the workspace.
    Git(String),
}

impl Framework {
    fn dependency(&self) -> String {
        match self {
            Framework::Path(path) => format!("ocean-core = {{ path = {} }}", toml_string(path)),
            Framework::Git(url) => format!("ocean-core = {{ git = {} }}", toml_string(url)),
        }
    }
}

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What a new integration is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// The crate (and binary) name.
    pub(crate) name: String,
    /// The sample kind (and blueprint identifier).
    pub(crate) kind: String,
    /// Whether the integration has a webhook processor.
    pub(crate) live_events: bool,
    /// The framework dependency.
    pub(crate) framework: Framework,
}

/// The variables the templates see.
#[derive(Debug, Serialize)]
struct Variables {
    name: String,
    title: String,
    kind: String,
    kind_ident: String,
    kind_title: String,
    kind_upper: String,
    type_name: String,
    live_events: bool,
    framework_dependency: String,
}

/// Rust's keywords (strict, reserved and 2018+), which cannot name a crate.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names Cargo reserves or that would shadow a crate the integration uses.
const RESERVED: &[&str] = &[
    "alloc",
    "build",
    "core",
    "deps",
    "examples",
    "incremental",
    "ocean",
    "ocean-core",
    "ocean_core",
    "proc-macro",
    "proc_macro",
    "serde",
    "std",
    "test",
    "tokio",
];

/// Why `name` cannot be the new crate's name, if it cannot.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        bail!("the integration name is empty; expected a crate name such as `my-integration`");
    }
    if name.len() > 64 {
        bail!(
            "`{name}` is {} characters long; a crate name has at most 64",
            name.len()
        );
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        bail!("`{name}` must start with a lower-case ASCII letter, e.g. `my-integration`");
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        bail!(
            "`{name}` holds `{bad}`; a crate name may hold only lower-case ASCII letters, digits, `-` and `_`"
        );
    }
    if KEYWORDS.contains(&name) {
        bail!("`{name}` is a Rust keyword and cannot name a crate");
    }
    if RESERVED.contains(&name) {
        bail!(
            "`{name}` is reserved (Cargo uses it, or it would shadow a crate the integration depends on)"
        );
    }
    Ok(())
}

/// Why `kind` cannot be the sample kind, if it cannot. It names the blueprint and a file, and
/// (with `-` turned into `_`) a Rust function.
pub(crate) fn check_kind(kind: &str) -> Result<()> {
    let valid = kind.starts_with(|c: char| c.is_ascii_lowercase())
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && kind.len() <= 30;
    if !valid {
        bail!(
            "`{kind}` cannot be the sample kind: expected lower-case ASCII letters, digits, `-` and `_`, starting with a letter, at most 30 characters (it is also the blueprint identifier), e.g. `ticket`"
        );
    }
    Ok(())
}

/// `snake_case` as a Rust identifier part.
fn ident(text: &str) -> String {
    text.replace('-', "_")
}

/// `my-cool_kind` → `MyCoolKind`.
fn camel(text: &str) -> String {
    text.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// `my-cool_kind` → `My cool kind`.
fn sentence(text: &str) -> String {
    let words: Vec<&str> = text.split(['-', '_']).filter(|w| !w.is_empty()).collect();
    let joined = words.join(" ");
    let mut chars = joined.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

/// Renders every file of the template for `options`: relative path → content, sorted.
pub(crate) fn render(options: &Options) -> Result<BTreeMap<String, String>> {
    check_name(&options.name)?;
    check_kind(&options.kind)?;
    let variables = Variables {
        name: options.name.clone(),
        title: sentence(&options.name),
        kind: options.kind.clone(),
        kind_ident: ident(&options.kind),
        kind_title: sentence(&options.kind),
        kind_upper: options.kind.to_ascii_uppercase().replace('_', "-"),
        type_name: camel(&options.kind),
        live_events: options.live_events,
        framework_dependency: options.framework.dependency(),
    };
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let context = Value::from(Serde(&variables));
    let mut files = BTreeMap::new();
    for file in FILES {
        let path = env
            .render_str(file.path, context.clone())
            .with_context(|| format!("rendering the path {}", file.path))?;
        let mut content = env
            .render_str(file.source, context.clone())
            .with_context(|| format!("rendering {}", file.path))?;
        // Jinja drops the template's last newline; files end with one.
        if file.source.ends_with('\n') && !content.ends_with('\n') {
            content.push('\n');
        }
        files.insert(path, content);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(kind: &str, live_events: bool) -> Options {
        Options {
            name: "acme-tickets".into(),
            kind: kind.into(),
            live_events,
            framework: Framework::Path("/path/to/ocean-core".into()),
        }
    }

    /// Every rendered file of every option combination, as a snapshot.
    #[test]
    fn every_file_of_every_option_combination_renders_as_its_snapshot() {
        let combinations = [
            ("default", options("ticket", true)),
            ("kind_work-item", options("work-item", true)),
            ("no_live_events", options("ticket", false)),
            (
                "framework_git",
                Options {
                    framework: Framework::Git("https://git.example.com/ocean-rs.git".into()),
                    ..options("ticket", true)
                },
            ),
        ];
        for (label, options) in combinations {
            let files = render(&options).unwrap();
            assert_eq!(files.len(), FILES.len(), "{label}");
            for (path, content) in files {
                let name = format!("{label}__{}", path.replace(['/', '.'], "_"));
                insta::assert_snapshot!(name, content);
            }
        }
    }

    #[test]
    fn the_kind_names_the_sample_file_the_handler_and_the_processor() {
        let files = render(&options("work-item", true)).unwrap();
        assert!(files.contains_key("sample/work-items.json"));
        let main = &files["src/main.rs"];
        assert!(main.contains("fn all_work_items(ctx: Context)"), "{main}");
        assert!(
            main.contains("pub struct WorkItemWebhookProcessor"),
            "{main}"
        );
        assert!(
            main.contains(r#"#[on_resync(kind = "work-item")]"#),
            "{main}"
        );
    }

    #[test]
    fn without_live_events_no_processor_or_webhook_setting_is_rendered() {
        let files = render(&options("ticket", false)).unwrap();
        for (path, content) in &files {
            assert!(!content.contains("webhook_processor"), "{path}");
            assert!(!content.contains("WEBHOOK_SECRET"), "{path}");
        }
    }

    #[test]
    fn names_that_cannot_be_crates_are_refused_with_the_reason() {
        for (name, reason) in [
            ("", "empty"),
            ("My-Integration", "lower-case"),
            ("9lives", "lower-case ASCII letter"),
            ("my integration", "holds ` `"),
            ("tickets!", "holds `!`"),
            ("fn", "keyword"),
            ("test", "reserved"),
            ("ocean", "reserved"),
        ] {
            let error = check_name(name).unwrap_err().to_string();
            assert!(error.contains(reason), "{name}: {error}");
        }
        for good in ["acme", "acme-tickets", "acme_tickets2"] {
            check_name(good).unwrap();
        }
        assert!(check_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn kinds_that_cannot_name_a_blueprint_are_refused() {
        for bad in [
            "",
            "Ticket",
            "1ticket",
            "tick et",
            "tick.et",
            &"k".repeat(31),
        ] {
            assert!(check_kind(bad).is_err(), "{bad:?}");
        }
        check_kind("work-item").unwrap();
    }

    #[test]
    fn framework_paths_are_written_as_toml_strings() {
        assert_eq!(
            Framework::Path(r#"C:\dev\"ocean"\ocean-core"#.into()).dependency(),
            r#"ocean-core = { path = "C:\\dev\\\"ocean\"\\ocean-core" }"#
        );
    }
}
