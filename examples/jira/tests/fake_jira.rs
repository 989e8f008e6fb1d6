//! The Jira integration end to end against a fake Jira (wiremock serving recorded Jira
//! payloads) and the local Port: resync, live events, signatures and retries.

mod support;

use jira::DEFAULT_JQL;
use ocean::sync::ResyncStatus;
use serde_json::{Value, json};
use support::*;
use wiremock::matchers::{basic_auth, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAGE_TOKEN: &str = "Ck8KDQoHcHJvamVjdBICUEFZEgpQQVktMg==";
const DANA: &str = "712020:5b1d6c2e-93f4-4b8a-a0a1-5f1e2a3b4c01";
const OMER: &str = "712020:5b1d6c2e-93f4-4b8a-a0a1-5f1e2a3b4c02";

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// Two pages of projects, only for requests with the integration's credentials.
async fn mount_projects(jira: &MockServer) {
    for (start, page) in [("0", "projects_page_1"), ("2", "projects_page_2")] {
        Mock::given(method("GET"))
            .and(path("/rest/api/3/project/search"))
            .and(basic_auth("bot@acme.example", "api-t0ken"))
            .and(query_param("startAt", start))
            .and(query_param("expand", "insight"))
            .respond_with(ok(fixture(page)))
            .expect(1)
            .mount(jira)
            .await;
    }
}

/// Two pages of issues for `jql` and `fields`, the second behind the first page's token.
async fn mount_issues(jira: &MockServer, jql: &str, fields: &str) {
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(basic_auth("bot@acme.example", "api-t0ken"))
        .and(query_param("jql", jql))
        .and(query_param("fields", fields))
        .and(query_param_is_missing("nextPageToken"))
        .respond_with(ok(fixture("issues_page_1")))
        .expect(1)
        .mount(jira)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param("jql", jql))
        .and(query_param("nextPageToken", PAGE_TOKEN))
        .respond_with(ok(fixture("issues_page_2")))
        .expect(1)
        .mount(jira)
        .await;
}

/// A single-issue search: the resource's JQL narrowed to `key`.
async fn mount_issue_search(jira: &MockServer, key: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param(
            "jql",
            format!("({DEFAULT_JQL}) AND key = \"{key}\""),
        ))
        .respond_with(ok(body))
        .expect(1)
        .mount(jira)
        .await;
}

/// A harness whose local Port already holds the resynced projects and issues.
async fn synced() -> Harness {
    let h = Harness::start().await;
    mount_projects(&h.jira).await;
    mount_issues(&h.jira, DEFAULT_JQL, "*all").await;
    let report = h.resync().await;
    assert_eq!(report.status, ResyncStatus::Completed, "{report:?}");
    h.jira.reset().await;
    h
}

#[tokio::test]
async fn resync_maps_paginated_projects_and_issues_exactly_like_the_mapping() {
    let h = Harness::start().await;
    mount_projects(&h.jira).await;
    mount_issues(&h.jira, DEFAULT_JQL, "*all").await;
    let report = h.resync().await;
    assert_eq!(report.status, ResyncStatus::Completed, "{report:?}");
    let projects = kind(&report, "project");
    assert_eq!(
        (projects.fetched, projects.upserted, projects.failed),
        (3, 3, 0),
        "{projects:?}"
    );
    let issues = kind(&report, "issue");
    assert_eq!(
        (issues.fetched, issues.upserted, issues.failed),
        (4, 4, 0),
        "{issues:?}"
    );
    assert_eq!(h.ids("jiraProject"), ["OPS", "PAY", "WEB"]);
    assert_eq!(h.ids("jiraIssue"), ["OPS-7", "PAY-1", "PAY-2", "PAY-3"]);

    let pay = h.entity("jiraProject", "PAY").unwrap();
    assert_eq!(pay.title.as_deref(), Some("Payments"));
    assert_eq!(
        Value::Object(pay.properties),
        json!({"url": "https://acme.atlassian.net/projects/PAY", "totalIssues": 42})
    );

    let bug = h.entity("jiraIssue", "PAY-2").unwrap();
    assert_eq!(
        bug.title.as_deref(),
        Some("Card payments fail for amounts above 10,000")
    );
    let p = &bug.properties;
    assert_eq!(p["url"], "https://acme.atlassian.net/browse/PAY-2");
    assert_eq!(p["status"], "In Progress");
    assert_eq!(p["issueType"], "Bug");
    assert_eq!(p["priority"], "High");
    assert_eq!(p["creator"], "omer@acme.example");
    assert_eq!(p["labels"], json!(["payments", "incident"]));
    let components: Vec<&str> = p["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(components, ["Checkout", "Gateway"]);
    assert_eq!(p["created"], "2026-01-12T09:14:03.120+0200");
    assert!(p.get("resolutionDate").is_none_or(Value::is_null));
    let r = &bug.relations;
    assert_eq!(r["project"], "PAY");
    assert_eq!(r["subtasks"], json!(["PAY-3"]));
    assert_eq!(r["assignee"], DANA);
    assert_eq!(r["reporter"], OMER);
    assert!(r.get("parentIssue").is_none_or(Value::is_null));

    let subtask = h.entity("jiraIssue", "PAY-3").unwrap();
    assert_eq!(subtask.relations["parentIssue"], "PAY-2");
    assert_eq!(subtask.properties["issueType"], "Sub-task");
    let done = h.entity("jiraIssue", "OPS-7").unwrap();
    assert_eq!(
        done.properties["resolutionDate"],
        "2026-01-18T11:20:00.000+0200"
    );
    assert_eq!(done.relations["project"], "OPS");
    h.stop().await;
}

#[tokio::test]
async fn the_jql_and_fields_of_the_issue_selector_reach_jira() {
    let mapping = mapping_with_issue_selector(json!({
        "query": "true",
        "jql": "project = PAY AND statusCategory != Done",
        "fields": "summary,status,issuetype,project",
    }))
    .await;
    let h = Harness::start_with(Some(mapping), 0).await;
    mount_projects(&h.jira).await;
    mount_issues(
        &h.jira,
        "project = PAY AND statusCategory != Done",
        "summary,status,issuetype,project",
    )
    .await;
    let report = h.resync().await;
    assert_eq!(report.status, ResyncStatus::Completed, "{report:?}");
    assert_eq!(kind(&report, "issue").fetched, 4);
    // Dropping the mocks verifies each was called exactly once.
    h.stop().await;
}

#[tokio::test]
async fn a_jira_error_fails_the_kind_and_deletes_nothing() {
    let h = synced().await;
    mount_projects(&h.jira).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errorMessages": ["Field 'statusCategory' does not exist or you do not have permission to view it."],
            "errors": {}
        })))
        .expect(1)
        .mount(&h.jira)
        .await;
    let report = h.resync().await;
    assert_eq!(report.status, ResyncStatus::Failed);
    let errors = kind(&report, "issue").errors.join("\n");
    assert!(errors.contains("Jira answered 400"), "{errors}");
    assert!(
        errors.contains("Field 'statusCategory' does not exist"),
        "{errors}"
    );
    assert_eq!(
        h.ids("jiraIssue").len(),
        4,
        "a failed kind must not reconcile"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried_by_the_client_during_resync() {
    let h = Harness::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/project/search"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&h.jira)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&h.jira)
        .await;
    mount_projects(&h.jira).await;
    mount_issues(&h.jira, DEFAULT_JQL, "*all").await;
    let report = h.resync().await;
    assert_eq!(report.status, ResyncStatus::Completed, "{report:?}");
    assert_eq!(h.ids("jiraProject").len(), 3);
    assert_eq!(h.ids("jiraIssue").len(), 4);
    h.stop().await;
}

#[tokio::test]
async fn issue_updated_upserts_the_issue_fetched_fresh_from_jira_not_the_payload() {
    let h = synced().await;
    mount_issue_search(&h.jira, "PAY-1", fixture("issue_pay_1_fresh_search")).await;
    let event = fixture("webhook_issue_updated");
    assert_eq!(
        event["issue"]["fields"]["summary"],
        "Add Apple Pay to checkout"
    );
    assert_eq!(h.post_webhook(&event, None).await, 202);
    h.it.wait_until("PAY-1 to carry the fresh summary", |_| {
        h.entity("jiraIssue", "PAY-1")
            .and_then(|e| e.title)
            .as_deref()
            == Some("Add Apple Pay and Google Pay to checkout")
    })
    .await
    .unwrap();
    let fresh = h.entity("jiraIssue", "PAY-1").unwrap();
    assert_eq!(fresh.properties["status"], "In Progress");
    assert_eq!(fresh.properties["updated"], "2026-01-21T08:05:12.004+0200");
    assert_eq!(fresh.relations["assignee"], DANA);
    h.stop().await;
}

#[tokio::test]
async fn issue_created_adds_the_new_issue() {
    let h = synced().await;
    mount_issue_search(&h.jira, "PAY-4", fixture("issue_pay_4_search")).await;
    assert_eq!(
        h.post_webhook(&fixture("webhook_issue_created"), None)
            .await,
        202
    );
    h.it.wait_until("PAY-4 to exist", |_| {
        h.entity("jiraIssue", "PAY-4").is_some()
    })
    .await
    .unwrap();
    let created = h.entity("jiraIssue", "PAY-4").unwrap();
    assert_eq!(created.properties["priority"], "Highest");
    assert_eq!(created.relations["project"], "PAY");
    h.stop().await;
}

#[tokio::test]
async fn issue_deleted_removes_the_issue_without_asking_jira() {
    let h = synced().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&h.jira)
        .await;
    assert!(h.entity("jiraIssue", "PAY-2").is_some());
    assert_eq!(
        h.post_webhook(&fixture("webhook_issue_deleted"), None)
            .await,
        202
    );
    h.it.wait_until("PAY-2 to be deleted", |_| {
        h.entity("jiraIssue", "PAY-2").is_none()
    })
    .await
    .unwrap();
    h.settled().await;
    assert_eq!(h.stats().dead_lettered, 0);
    assert!(h.entity("jiraIssue", "PAY-1").is_some());
    h.stop().await;
}

#[tokio::test]
async fn an_issue_that_no_longer_matches_the_jql_is_deleted() {
    let h = synced().await;
    mount_issue_search(&h.jira, "PAY-1", fixture("issue_search_empty")).await;
    assert!(h.entity("jiraIssue", "PAY-1").is_some());
    assert_eq!(
        h.post_webhook(&fixture("webhook_issue_updated"), None)
            .await,
        202
    );
    h.it.wait_until("PAY-1 to be deleted", |_| {
        h.entity("jiraIssue", "PAY-1").is_none()
    })
    .await
    .unwrap();
    assert_eq!(h.ids("jiraIssue"), ["OPS-7", "PAY-2", "PAY-3"]);
    h.stop().await;
}

#[tokio::test]
async fn project_soft_deleted_removes_the_project() {
    let h = synced().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&h.jira)
        .await;
    assert_eq!(
        h.post_webhook(&fixture("webhook_project_soft_deleted"), None)
            .await,
        202
    );
    h.it.wait_until("OPS to be deleted", |_| {
        h.entity("jiraProject", "OPS").is_none()
    })
    .await
    .unwrap();
    assert_eq!(h.ids("jiraProject"), ["PAY", "WEB"]);
    // OPS-7's relation to its project is optional, so it is not a dependent and stays.
    assert_eq!(h.ids("jiraIssue"), ["OPS-7", "PAY-1", "PAY-2", "PAY-3"]);
    h.stop().await;
}

#[tokio::test]
async fn project_created_and_updated_fetch_the_project_from_jira() {
    let h = Harness::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/project/WEB"))
        .and(query_param("expand", "insight"))
        .respond_with(ok(fixture("project_web")))
        .expect(1)
        .mount(&h.jira)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/project/PAY"))
        .respond_with(ok(fixture("project_pay_fresh")))
        .expect(1)
        .mount(&h.jira)
        .await;
    assert_eq!(
        h.post_webhook(&fixture("webhook_project_created"), None)
            .await,
        202
    );
    assert_eq!(
        h.post_webhook(&fixture("webhook_project_updated"), None)
            .await,
        202
    );
    h.it.wait_until("WEB and PAY to exist", |_| {
        h.entity("jiraProject", "WEB").is_some() && h.entity("jiraProject", "PAY").is_some()
    })
    .await
    .unwrap();
    let pay = h.entity("jiraProject", "PAY").unwrap();
    // The webhook says "Payments"; Jira now says otherwise, and Jira wins.
    assert_eq!(pay.title.as_deref(), Some("Payments Platform"));
    assert_eq!(pay.properties["totalIssues"], 43);
    assert_eq!(
        h.entity("jiraProject", "WEB").unwrap().properties["url"],
        "https://acme.atlassian.net/projects/WEB"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_wrongly_signed_or_unsigned_webhook_is_rejected_with_401_and_not_processed() {
    let h = synced().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&h.jira)
        .await;
    let event = fixture("webhook_issue_deleted");
    let forged =
        jira::signature::sign(&"not-the-secret".into(), event.to_string().as_bytes()).unwrap();
    assert_eq!(h.post_webhook(&event, Some(&forged)).await, 401);
    assert_eq!(h.post_webhook(&event, Some("sha256=")).await, 401);
    assert_eq!(h.post_webhook(&event, Some("")).await, 401);
    let stats = h.stats();
    assert_eq!((stats.accepted, stats.rejected_unauthorized), (0, 3));
    assert!(h.entity("jiraIssue", "PAY-2").is_some());
    h.stop().await;
}

#[tokio::test]
async fn a_webhook_without_the_issue_key_is_rejected_with_422() {
    let h = Harness::start().await;
    let event =
        json!({"timestamp": 1, "webhookEvent": "jira:issue_updated", "issue": {"id": "10001"}});
    assert_eq!(h.post_webhook(&event, None).await, 422);
    assert_eq!(h.stats().rejected_invalid, 1);
    h.stop().await;
}

#[tokio::test]
async fn a_jira_503_during_a_webhook_is_retried_by_the_framework_and_then_applied() {
    // No client-level retries: the retryable error reaches the live-events retry policy.
    let h = Harness::start_with(None, 0).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .respond_with(
            ResponseTemplate::new(503).set_body_string("<html>Service Unavailable</html>"),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&h.jira)
        .await;
    mount_issue_search(&h.jira, "PAY-1", fixture("issue_pay_1_fresh_search")).await;
    assert_eq!(
        h.post_webhook(&fixture("webhook_issue_updated"), None)
            .await,
        202
    );
    h.it.wait_until("PAY-1 to be applied after the retries", |_| {
        h.entity("jiraIssue", "PAY-1").is_some()
    })
    .await
    .unwrap();
    h.settled().await;
    let stats = h.stats();
    assert_eq!(
        (stats.retried, stats.processed, stats.dead_lettered),
        (2, 1, 0)
    );
    assert_eq!(
        h.entity("jiraIssue", "PAY-1").unwrap().title.as_deref(),
        Some("Add Apple Pay and Google Pay to checkout")
    );
    h.stop().await;
}

#[tokio::test]
async fn a_jira_401_during_a_webhook_is_not_retried_and_is_dead_lettered() {
    let h = Harness::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "errorMessages": ["You are not authenticated. Authentication required to perform this operation."]
        })))
        .expect(1)
        .mount(&h.jira)
        .await;
    assert_eq!(
        h.post_webhook(&fixture("webhook_issue_updated"), None)
            .await,
        202
    );
    h.settled().await;
    let stats = h.stats();
    assert_eq!((stats.retried, stats.dead_lettered), (0, 1));
    assert!(h.entity("jiraIssue", "PAY-1").is_none());
    h.stop().await;
}
