//! The Jira issue mapping of Ocean's Jira integration, on a realistic issue, gives exactly the
//! worked output of the reference.

use ocean::mapping::{CompiledResource, JqEngine, PortAppConfig};
use serde_json::json;
use std::collections::BTreeMap;

const JIRA_ISSUE_MAPPING: &str = include_str!("fixtures/jira-issue-mapping.yml");

#[test]
fn jira_issue_maps_to_the_worked_output() {
    let config = PortAppConfig::parse(JIRA_ISSUE_MAPPING).unwrap();
    let resource = CompiledResource::new(&config.resources[0], &JqEngine::default());
    let issue = json!({
        "expand": "renderedFields,names,schema",
        "id": "10108",
        "self": "https://api.atlassian.com/ex/jira/00000000-0000-0000-0000-000000000000/rest/api/3/issue/10108",
        "key": "SEC-108",
        "fields": {
            "summary": "Wiz Issue: Publicly readable bucket (allows direct anonymous read access)",
            "status": {"name": "To Do", "statusCategory": {"key": "new"}},
            "issuetype": {"name": "Task", "subtask": false},
            "components": [],
            "creator": {"accountId": "712020:00000000-0000-0000-0000-000000000001", "emailAddress": "integration@example.com"},
            "priority": {"name": "Medium", "id": "3"},
            "labels": ["security"],
            "created": "2026-01-26T01:39:15.250+0200",
            "updated": "2026-01-26T01:39:16.439+0200",
            "resolutiondate": null,
            "project": {"key": "SEC", "name": "Security"},
            "subtasks": [],
            "assignee": {"accountId": "712020:00000000-0000-0000-0000-000000000002"},
            "reporter": {"accountId": "712020:00000000-0000-0000-0000-000000000001"}
        }
    });
    let out = resource.map_batch(&[issue], false);
    assert!(out.failures.is_empty());
    assert_eq!(out.entities.len(), 1);
    let body = serde_json::to_value(&out.entities[0]).unwrap();
    assert_eq!(
        body,
        json!({"identifier":"SEC-108","title":"Wiz Issue: Publicly readable bucket (allows direct anonymous read access)",
         "blueprint":"jiraIssue",
         "properties":{"url":"https://api.atlassian.com/browse/SEC-108","status":"To Do","issueType":"Task","components":[],
           "creator":"integration@example.com","priority":"Medium","labels":["security"],
           "created":"2026-01-26T01:39:15.250+0200","updated":"2026-01-26T01:39:16.439+0200","resolutionDate":null},
         "relations":{"project":"SEC","parentIssue":null,"subtasks":[],
           "assignee":"712020:00000000-0000-0000-0000-000000000002","reporter":"712020:00000000-0000-0000-0000-000000000001"}})
    );
    // Property and relation order follows the mapping.
    let keys: Vec<_> = body["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys[0], "url");
    assert_eq!(keys[9], "resolutionDate");
    assert_eq!(
        out.misconfigurations,
        BTreeMap::from([
            (
                "properties.resolutionDate".to_owned(),
                ".fields.resolutiondate".to_owned()
            ),
            (
                "relations.parentIssue".to_owned(),
                ".fields.parent.key".to_owned()
            ),
        ])
    );
}
