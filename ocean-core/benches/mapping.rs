//! Mapping throughput: 10,000 Jira-like issues through Ocean's real Jira issue mapping,
//! single-threaded and across the mapping pool.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ocean::mapping::{CompiledResource, JqEngine, PortAppConfig};
use serde_json::{Value, json};
use std::hint::black_box;

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

fn bench_mapping(c: &mut Criterion) {
    let config = PortAppConfig::parse(JIRA_ISSUE_MAPPING).expect("the Jira mapping parses");
    let engine = JqEngine::default();
    let resource = CompiledResource::new(&config.resources[0], &engine);
    let mut rng = Lcg(42);
    let issues: Vec<Value> = (0..ISSUES).map(|i| issue(i, &mut rng)).collect();
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
criterion_main!(benches);
