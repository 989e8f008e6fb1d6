//! Ordering entities so that relation targets come before the entities that point at them.
//!
//! Used when Port must not create missing related entities: entities whose upsert failed because
//! a target did not exist yet are retried in dependency order.

use crate::port::{Entity, normalize_identifier};
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};

/// The relations between the entities form a cycle, so no order satisfies them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Cannot order entities due to cyclic dependencies ({members}). If you do want cyclic dependencies, set 'createMissingRelatedEntities' and 'deleteDependentEntities' to true in the integration's mapping in Port."
)]
pub struct CycleError {
    /// The identifiers on the cycle (or still blocked by it), comma separated.
    pub members: String,
}

/// Returns `entities` ordered so that each entity comes after the registered entities its
/// relations point to. Ties keep the input order. A later entity with the same
/// `(identifier, blueprint)` replaces an earlier one.
pub fn order_by_relations(entities: Vec<Entity>) -> Result<Vec<Entity>, CycleError> {
    // Deduplicate by key, last registration wins, first position kept.
    let mut index_by_key: HashMap<(String, String), usize> = HashMap::new();
    let mut nodes: Vec<Entity> = Vec::with_capacity(entities.len());
    for e in entities {
        let key = (e.normalized_identifier(), e.blueprint.clone());
        match index_by_key.get(&key) {
            Some(&i) => nodes[i] = e,
            None => {
                index_by_key.insert(key, nodes.len());
                nodes.push(e);
            }
        }
    }
    // Relations name targets by identifier only; any blueprint matches.
    let mut by_identifier: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in nodes.iter().enumerate() {
        by_identifier
            .entry(e.normalized_identifier())
            .or_default()
            .push(i);
    }
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut pending: Vec<usize> = vec![0; nodes.len()];
    for (i, e) in nodes.iter().enumerate() {
        let mut deps: HashSet<usize> = HashSet::new();
        for target in relation_targets(e) {
            for &j in by_identifier.get(&target).into_iter().flatten() {
                if j != i {
                    deps.insert(j);
                }
            }
        }
        pending[i] = deps.len();
        for j in deps {
            dependents[j].push(i);
        }
    }
    let mut ready: VecDeque<usize> = (0..nodes.len()).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_front() {
        order.push(i);
        let mut next: Vec<usize> = Vec::new();
        for &d in &dependents[i] {
            pending[d] -= 1;
            if pending[d] == 0 {
                next.push(d);
            }
        }
        next.sort_unstable();
        ready.extend(next);
    }
    if order.len() < nodes.len() {
        let members = (0..nodes.len())
            .filter(|i| pending[*i] > 0)
            .map(|i| nodes[i].normalized_identifier())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(CycleError { members });
    }
    let mut slots: Vec<Option<Entity>> = nodes.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// The identifiers an entity's relations point to: scalars and list elements (nulls skipped),
/// and for search-query relations the values of `$identifier =` rules, at any depth.
pub fn relation_targets(entity: &Entity) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(relations) = &entity.relations {
        for value in relations.values() {
            collect_targets(value, &mut out);
        }
    }
    out
}

fn collect_targets(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Null => {}
        Value::Array(items) => items.iter().for_each(|v| collect_targets(v, out)),
        Value::Object(map) if map.contains_key("rules") => collect_search_targets(value, out),
        other => out.push(normalize_identifier(other)),
    }
}

fn collect_search_targets(query: &Value, out: &mut Vec<String>) {
    let Some(rules) = query.get("rules").and_then(Value::as_array) else {
        return;
    };
    for rule in rules {
        if rule.get("rules").is_some() {
            collect_search_targets(rule, out);
        } else if rule.get("property").and_then(Value::as_str) == Some("$identifier")
            && rule.get("operator").and_then(Value::as_str) == Some("=")
            && let Some(v) = rule.get("value").filter(|v| !v.is_null())
        {
            out.push(normalize_identifier(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn e(id: &str, rel: Value) -> Entity {
        serde_json::from_value(
            json!({"identifier": id, "blueprint": "bp", "relations": {"r": rel}}),
        )
        .unwrap()
    }

    fn ids(v: &[Entity]) -> Vec<String> {
        v.iter().map(Entity::normalized_identifier).collect()
    }

    #[test]
    fn dependencies_come_first() {
        let out = order_by_relations(vec![
            e("c", json!("b")),
            e("a", json!(null)),
            e("b", json!("a")),
        ])
        .unwrap();
        assert_eq!(ids(&out), ["a", "b", "c"]);
    }

    #[test]
    fn self_dependency_is_ignored() {
        let out = order_by_relations(vec![
            e("a", json!("a")),
            e("b", json!("a")),
            e("c", json!("b")),
        ])
        .unwrap();
        assert_eq!(ids(&out), ["a", "b", "c"]);
    }

    #[test]
    fn search_relation_on_identifier_orders_like_a_plain_one() {
        let search = json!({"combinator": "and", "rules": [{"property": "$identifier", "operator": "=", "value": "entity_a"}]});
        let out =
            order_by_relations(vec![e("entity_b", search), e("entity_a", json!(null))]).unwrap();
        assert_eq!(ids(&out), ["entity_a", "entity_b"]);
    }

    #[test]
    fn mixed_relation_list_puts_the_dependent_last() {
        let search = json!({"combinator": "and", "rules": [{"combinator": "or", "rules": [{"property": "$identifier", "operator": "=", "value": "b"}]}]});
        let out = order_by_relations(vec![
            e("c", json!(["a", search])),
            e("a", json!(null)),
            e("b", json!(null)),
        ])
        .unwrap();
        assert_eq!(ids(&out).last().unwrap(), "c");
    }

    #[test]
    fn search_identifier_with_missing_target_is_returned_as_is() {
        let ent: Entity = serde_json::from_value(json!({
            "identifier": {"combinator": "and", "rules": [{"property": "$title", "operator": "=", "value": "x"}]},
            "blueprint": "bp", "relations": {"r": "missing"}
        })).unwrap();
        let out = order_by_relations(vec![ent.clone()]).unwrap();
        assert_eq!(out, vec![ent]);
    }

    #[test]
    fn cycle_is_an_error_naming_its_members() {
        let err = order_by_relations(vec![e("a", json!("b")), e("b", json!("a"))]).unwrap_err();
        assert!(err.to_string().contains("cyclic dependencies"));
        assert!(err.members.contains('a') && err.members.contains('b'));
    }

    #[test]
    fn ocean_dependency_case_orders_all_five() {
        // 1→3, 2→4, 3→"", 4→3, 5→1
        let out = order_by_relations(vec![
            e("1", json!("3")),
            e("2", json!("4")),
            e("3", json!("")),
            e("4", json!("3")),
            e("5", json!("1")),
        ])
        .unwrap();
        let order = ids(&out).join("-");
        assert!(
            ["3-4-1-2-5", "3-4-1-5-2", "3-1-4-2-5", "3-1-4-5-2"].contains(&order.as_str()),
            "{order}"
        );
    }
}
