//! Mapping throughput: 10,000 Jira-like issues through Ocean's real Jira issue mapping,
//! single-threaded and across the mapping pool.
//!
//! Besides the criterion benchmark, two modes serve `scripts/bench/mapping-vs-jq.sh`, so that
//! jq runs on exactly the issues generated here:
//! - `OCEAN_MAPPING_BENCH_DUMP=<dir>` writes `<dir>/issues.jsonl` (one issue per line) and
//!   `<dir>/mapping.json` (the mapping's expressions by field) and exits;
//! - `OCEAN_MAPPING_BENCH_ROUNDS=<n>` maps the issues `n` times single-threaded and `n` times
//!   in parallel without criterion and prints one JSON line per mode: wall time, CPU time
//!   (the mapping thread's for the single-threaded mode, the process's for the parallel one)
//!   and items per second of each.

use criterion::{Criterion, Throughput, criterion_group};
use ocean::mapping::{CompiledResource, JqEngine, MappingValue, PortAppConfig};
use serde_json::{Value, json};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

const JIRA_ISSUE_MAPPING: &str = include_str!("../tests/fixtures/jira-issue-mapping.yml");

const ISSUES: usize = 10_000;

/// A small deterministic generator, so every run maps the same issues.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }

    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.below(options.len() as u64)]
    }
}

fn account(rng: &mut Lcg) -> Value {
    let n = rng.below(500);
    json!({
        "accountId": format!("712020:00000000-0000-0000-0000-{n:012}"),
        "emailAddress": format!("user{n}@example.com"),
        "displayName": format!("User {n}"),
        "active": true,
        "timeZone": "Europe/Berlin",
        "avatarUrls": {"48x48": format!("https://avatar.example.com/{n}/48")}
    })
}

fn issue(i: usize, rng: &mut Lcg) -> Value {
    let project = rng.pick(&["SEC", "OPS", "WEB", "API", "DATA"]);
    let label_count = rng.below(4);
    let labels: Vec<&str> = (0..label_count)
        .map(|_| rng.pick(&["security", "backend", "frontend", "urgent", "tech-debt"]))
        .collect();
    let subtask_count = rng.below(3);
    let subtasks: Vec<Value> = (0..subtask_count)
        .map(|s| {
            json!({"id": format!("{}", 50_000 + i * 3 + s), "key": format!("{project}-{}", 20_000 + i * 3 + s)})
        })
        .collect();
    let resolved = rng.below(3) == 0;
    let summary = rng.pick(&[
        "Publicly readable bucket",
        "Login fails on Safari",
        "Slow query on dashboard",
        "Upgrade TLS library",
    ]);
    let description_len = 200 + rng.below(300);
    let mut fields = json!({
        "summary": format!("Issue {i}: {summary}"),
        "description": "x".repeat(description_len),
        "status": {"name": rng.pick(&["To Do", "In Progress", "Done"]), "statusCategory": {"key": "new", "colorName": "blue-gray"}},
        "issuetype": {"name": rng.pick(&["Task", "Bug", "Story"]), "subtask": false, "iconUrl": "https://example.atlassian.net/icon.png"},
        "components": [],
        "creator": account(rng),
        "reporter": account(rng),
        "assignee": account(rng),
        "priority": {"name": rng.pick(&["Low", "Medium", "High"]), "id": "3"},
        "labels": labels,
        "created": format!("2026-01-{:02}T01:39:15.250+0200", 1 + rng.below(28)),
        "updated": format!("2026-02-{:02}T09:12:16.439+0200", 1 + rng.below(28)),
        "resolutiondate": if resolved { json!("2026-02-20T10:00:00.000+0200") } else { Value::Null },
        "project": {"key": project, "name": format!("Project {project}"), "id": "10000"},
        "subtasks": subtasks,
        "watches": {"watchCount": rng.below(10), "isWatching": false},
        "customfield_10020": [{"id": 1, "name": "Sprint 1", "state": "closed"}]
    });
    if rng.below(4) == 0 {
        fields["parent"] = json!({"key": format!("{project}-{}", 10 + i / 10)});
    }
    json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog",
        "id": format!("{}", 10_000 + i),
        "self": format!("https://api.atlassian.com/ex/jira/00000000-0000-0000-0000-000000000000/rest/api/3/issue/{}", 10_000 + i),
        "key": format!("{project}-{}", 100 + i),
        "fields": fields
    })
}

/// The benchmark's issues: the same on every run.
fn issues() -> Vec<Value> {
    let mut rng = Lcg(42);
    (0..ISSUES).map(|i| issue(i, &mut rng)).collect()
}

fn jira_config() -> PortAppConfig {
    PortAppConfig::parse(JIRA_ISSUE_MAPPING).expect("the Jira mapping parses")
}

/// The mapping's jq expressions by field, in mapping order (selector first).
fn expressions(config: &PortAppConfig) -> Vec<(String, String)> {
    let resource = &config.resources[0];
    let m = &resource.port.entity.mappings;
    let jq = |v: &MappingValue| match v {
        MappingValue::Jq(expr) => expr.clone(),
        MappingValue::Search(_) => panic!("the Jira mapping has no search queries"),
    };
    let mut out = vec![
        ("selector".to_owned(), resource.selector.query.clone()),
        ("identifier".to_owned(), jq(&m.identifier)),
    ];
    out.extend(m.title.iter().map(|t| ("title".to_owned(), t.clone())));
    out.push(("blueprint".to_owned(), m.blueprint.clone()));
    for (k, v) in m.properties.iter().flatten() {
        out.push((format!("properties.{k}"), v.clone()));
    }
    for (k, v) in m.relations.iter().flatten() {
        out.push((format!("relations.{k}"), jq(v)));
    }
    out
}

fn dump(dir: &Path) {
    std::fs::create_dir_all(dir).expect("the dump directory can be created");
    let mut lines = String::new();
    for issue in issues() {
        lines.push_str(&issue.to_string());
        lines.push('\n');
    }
    std::fs::write(dir.join("issues.jsonl"), lines).expect("issues.jsonl is written");
    let fields: Vec<Value> = expressions(&jira_config())
        .into_iter()
        .map(|(field, expr)| json!({"field": field, "expr": expr}))
        .collect();
    let mapping = json!({"items": ISSUES, "fields": fields});
    std::fs::write(dir.join("mapping.json"), format!("{mapping:#}\n"))
        .expect("mapping.json is written");
    println!("wrote {ISSUES} issues and the mapping to {}", dir.display());
}

/// CPU time of the calling thread (Linux: `/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// CPU time of the whole process (Linux: `/proc/self/stat`, user + system, clock ticks).
fn process_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// The 1-minute load average, to record how busy the machine was.
fn load1() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn report(mode: &str, rounds: usize, load: Option<f64>, wall: Duration, cpu: Option<Duration>) {
    let items = (ISSUES * rounds) as f64;
    let cpu_s = cpu.map(|c| c.as_secs_f64());
    let line = json!({
        "mode": mode,
        "items": ISSUES * rounds,
        "rounds": rounds,
        "load1": load,
        "wall_s": wall.as_secs_f64(),
        "cpu_s": cpu_s,
        "items_per_s": items / wall.as_secs_f64(),
        "items_per_cpu_s": cpu_s.map(|c| items / c),
    });
    println!("{line}");
}

fn rounds(n: usize) {
    let config = jira_config();
    let engine = JqEngine::default();
    let resource = CompiledResource::new(&config.resources[0], &engine);
    let issues = issues();
    // Warm up (and check) once before measuring.
    assert_eq!(resource.map_batch(&issues, false).entities.len(), ISSUES);
    assert_eq!(
        resource.map_batch_parallel(&issues, false).entities.len(),
        ISSUES
    );

    let (load, cpu0, start) = (load1(), thread_cpu(), Instant::now());
    for _ in 0..n {
        black_box(resource.map_batch(black_box(&issues), false));
    }
    let (wall, cpu1) = (start.elapsed(), thread_cpu());
    let cpu = cpu0.zip(cpu1).map(|(a, b)| b.saturating_sub(a));
    report("single_thread", n, load, wall, cpu);

    let (load, cpu0, start) = (load1(), process_cpu(), Instant::now());
    for _ in 0..n {
        black_box(resource.map_batch_parallel(black_box(&issues), false));
    }
    let (wall, cpu1) = (start.elapsed(), process_cpu());
    let cpu = cpu0.zip(cpu1).map(|(a, b)| b.saturating_sub(a));
    report("parallel", n, load, wall, cpu);
}

fn bench_mapping(c: &mut Criterion) {
    let config = jira_config();
    let engine = JqEngine::default();
    let resource = CompiledResource::new(&config.resources[0], &engine);
    let issues = issues();
    assert_eq!(resource.map_batch(&issues[..10], false).entities.len(), 10);

    let mut group = c.benchmark_group("jira_issue_mapping");
    group.throughput(Throughput::Elements(ISSUES as u64));
    group.sample_size(10);
    group.bench_function("single_thread_10k", |b| {
        b.iter(|| black_box(resource.map_batch(black_box(&issues), false)));
    });
    group.bench_function("parallel_10k", |b| {
        b.iter(|| black_box(resource.map_batch_parallel(black_box(&issues), false)));
    });
    group.finish();
}

criterion_group!(benches, bench_mapping);

fn main() {
    if let Some(dir) = std::env::var_os("OCEAN_MAPPING_BENCH_DUMP") {
        dump(Path::new(&dir));
        return;
    }
    if let Ok(n) = std::env::var("OCEAN_MAPPING_BENCH_ROUNDS") {
        rounds(
            n.parse()
                .expect("OCEAN_MAPPING_BENCH_ROUNDS is a number of rounds"),
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
