//! Comparing entities: what changed between two sets, and whether an entity differs from its
//! copy in Port (so unchanged entities can be skipped).

use crate::port::Entity;
use indexmap::IndexMap;
use serde_json::{Map, Value};

/// The key of an entity across blueprints: `(normalized identifier, blueprint)`.
pub type EntityKey = (String, String);

/// The key of `entity`.
pub fn entity_key(entity: &Entity) -> EntityKey {
    (entity.normalized_identifier(), entity.blueprint.clone())
}

/// The difference between the entities before and after a change, keyed by [`EntityKey`].
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EntityDiff {
    /// In `after` only.
    pub created: Vec<Entity>,
    /// In both; the `after` version.
    pub modified: Vec<Entity>,
    /// In `before` only; the `before` version.
    pub deleted: Vec<Entity>,
}

/// Splits `before` and `after` into created, modified and deleted entities. A key repeated in
/// one list keeps its last occurrence.
pub fn port_diff(before: &[Entity], after: &[Entity]) -> EntityDiff {
    let before_map: IndexMap<EntityKey, &Entity> =
        before.iter().map(|e| (entity_key(e), e)).collect();
    let after_map: IndexMap<EntityKey, &Entity> =
        after.iter().map(|e| (entity_key(e), e)).collect();
    let mut diff = EntityDiff::default();
    for (key, entity) in &after_map {
        if before_map.contains_key(key) {
            diff.modified.push((*entity).clone());
        } else {
            diff.created.push((*entity).clone());
        }
    }
    for (key, entity) in &before_map {
        if !after_map.contains_key(key) {
            diff.deleted.push((*entity).clone());
        }
    }
    diff
}

/// True when the mapped entity `source` would change its copy `port` in Port: the title, the
/// team (lists compared as sets), the properties or the relations differ.
///
/// Port returns fields the mapping does not set as `null`; a `null` in Port for a key the
/// source does not have counts as equal. Numbers compare by value and type (`1` vs `1.0`
/// differ), objects ignore key order, lists keep it.
pub fn entities_differ(port: &Entity, source: &Entity) -> bool {
    let title_differs = source.title.is_some() && port.title != source.title;
    let team_differs = source
        .team
        .as_ref()
        .is_some_and(|team| !teams_equal(port.team.as_ref().unwrap_or(&Value::Null), team));
    let properties_differ = source
        .properties
        .as_ref()
        .is_some_and(|p| !fields_equal(port.properties.as_ref(), p));
    let relations_differ = source
        .relations
        .as_ref()
        .is_some_and(|r| !fields_equal(port.relations.as_ref(), r));
    title_differs || team_differs || properties_differ || relations_differ
}

fn teams_equal(port: &Value, source: &Value) -> bool {
    match (port, source) {
        (Value::Array(a), Value::Array(b)) => {
            let mut a: Vec<String> = a.iter().map(Value::to_string).collect();
            let mut b: Vec<String> = b.iter().map(Value::to_string).collect();
            a.sort();
            b.sort();
            a == b
        }
        (Value::Null, Value::Array(b)) => b.is_empty(),
        _ => port == source,
    }
}

fn fields_equal(port: Option<&Map<String, Value>>, source: &Map<String, Value>) -> bool {
    let empty = Map::new();
    let port = port.unwrap_or(&empty);
    for (k, v) in port {
        if v.is_null() && !source.contains_key(k) {
            continue;
        }
        match source.get(k) {
            Some(sv) if values_equal(v, sv) => {}
            _ => return false,
        }
    }
    source
        .iter()
        .all(|(k, v)| port.contains_key(k) || v.is_null())
}

/// Deep equality. `serde_json` already compares objects regardless of key order (also with
/// `preserve_order`), lists in order, and numbers by representation (`1` and `1.0` differ).
fn values_equal(a: &Value, b: &Value) -> bool {
    a == b
}

/// The source entities that differ from (or are missing in) Port. When any source entity uses a
/// search identifier or search relation, all are returned: Port resolves those server side, so
/// they cannot be compared locally.
pub fn changed_entities(source: Vec<Entity>, port: &[Entity]) -> Vec<Entity> {
    if source
        .iter()
        .any(|e| e.uses_search_identifier() || e.uses_search_relation())
    {
        return source;
    }
    let port_by_key: std::collections::HashMap<EntityKey, &Entity> =
        port.iter().map(|e| (entity_key(e), e)).collect();
    source
        .into_iter()
        .filter(|e| {
            port_by_key
                .get(&entity_key(e))
                .is_none_or(|p| entities_differ(p, e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(v: Value) -> Entity {
        serde_json::from_value(v).unwrap()
    }

    fn ids(entities: &[Entity]) -> Vec<String> {
        entities.iter().map(Entity::normalized_identifier).collect()
    }

    #[test]
    fn diff_splits_created_modified_deleted() {
        let before = vec![
            entity(json!({"identifier": "id1", "blueprint": "s", "properties": {"a": 1}})),
            entity(json!({"identifier": "id2", "blueprint": "s"})),
        ];
        let after = vec![
            entity(json!({"identifier": "id1", "blueprint": "s", "properties": {"a": 2}})),
            entity(json!({"identifier": "id3", "blueprint": "s"})),
        ];
        let d = port_diff(&before, &after);
        assert_eq!(ids(&d.created), ["id3"]);
        assert_eq!(ids(&d.modified), ["id1"]);
        assert_eq!(d.modified[0].properties.as_ref().unwrap()["a"], json!(2));
        assert_eq!(ids(&d.deleted), ["id2"]);
    }

    #[test]
    fn diff_with_dictionary_identifier_in_before_only_is_deleted() {
        let before = vec![entity(
            json!({"identifier": {"combinator": "and", "rules": []}, "blueprint": "s"}),
        )];
        let d = port_diff(&before, &[]);
        assert_eq!(d.deleted.len(), 1);
        assert!(d.created.is_empty() && d.modified.is_empty());
    }

    #[test]
    fn same_blueprint_and_identifier_in_different_blueprints_are_different_keys() {
        let before = vec![entity(json!({"identifier": "x", "blueprint": "a"}))];
        let after = vec![entity(json!({"identifier": "x", "blueprint": "b"}))];
        let d = port_diff(&before, &after);
        assert_eq!(
            (d.created.len(), d.modified.len(), d.deleted.len()),
            (1, 0, 1)
        );
    }

    #[test]
    fn null_in_port_for_a_key_the_source_lacks_counts_as_equal() {
        let port = entity(
            json!({"identifier": "a", "blueprint": "s", "properties": {"team": null, "x": 1}}),
        );
        let src = entity(json!({"identifier": "a", "blueprint": "s", "properties": {"x": 1}}));
        assert!(!entities_differ(&port, &src));
        let src2 = entity(
            json!({"identifier": "a", "blueprint": "s", "properties": {"x": 1, "team": "t1"}}),
        );
        assert!(entities_differ(&port, &src2));
    }

    #[test]
    fn numbers_differ_by_value_and_type_but_key_order_does_not_matter() {
        let port = entity(
            json!({"identifier": "a", "blueprint": "s", "properties": {"n": 1, "o": {"x": 1, "y": 2}}}),
        );
        let same = entity(
            json!({"identifier": "a", "blueprint": "s", "properties": {"o": {"y": 2, "x": 1}, "n": 1}}),
        );
        let float = entity(
            json!({"identifier": "a", "blueprint": "s", "properties": {"n": 1.0, "o": {"x": 1, "y": 2}}}),
        );
        let other = entity(
            json!({"identifier": "a", "blueprint": "s", "properties": {"n": 2, "o": {"x": 1, "y": 2}}}),
        );
        assert!(!entities_differ(&port, &same));
        assert!(entities_differ(&port, &float));
        assert!(entities_differ(&port, &other));
    }

    #[test]
    fn lists_keep_order_but_teams_compare_as_sets() {
        let port = entity(
            json!({"identifier": "a", "blueprint": "s", "team": ["t1", "t2"], "properties": {"l": ["nginx:1.14"]}}),
        );
        let teams_reordered = entity(
            json!({"identifier": "a", "blueprint": "s", "team": ["t2", "t1"], "properties": {"l": ["nginx:1.14"]}}),
        );
        let other_teams =
            entity(json!({"identifier": "a", "blueprint": "s", "team": ["t2", "t3"]}));
        let other_list = entity(
            json!({"identifier": "a", "blueprint": "s", "properties": {"l": ["nginx:1.15"]}}),
        );
        assert!(!entities_differ(&port, &teams_reordered));
        assert!(entities_differ(&port, &other_teams));
        assert!(entities_differ(&port, &other_list));
    }

    #[test]
    fn titles_and_relations_are_compared() {
        let port = entity(
            json!({"identifier": "a", "blueprint": "s", "title": "🚀 Issue 123", "relations": {"reporter": "u1"}}),
        );
        let same = entity(
            json!({"identifier": "a", "blueprint": "s", "title": "🚀 Issue 123", "relations": {"reporter": "u1"}}),
        );
        let title = entity(json!({"identifier": "a", "blueprint": "s", "title": "Issue 124"}));
        let rel_key =
            entity(json!({"identifier": "a", "blueprint": "s", "relations": {"assignee": "u1"}}));
        assert!(!entities_differ(&port, &same));
        assert!(entities_differ(&port, &title));
        assert!(entities_differ(&port, &rel_key));
    }

    #[test]
    fn changed_entities_keeps_new_and_modified_in_order() {
        let port = vec![
            entity(json!({"identifier": "id1", "blueprint": "s", "properties": {"a": 1}})),
            entity(json!({"identifier": "id3", "blueprint": "s"})),
        ];
        let source = vec![
            entity(json!({"identifier": "id1", "blueprint": "s", "properties": {"a": 2}})),
            entity(json!({"identifier": "id2", "blueprint": "s"})),
            entity(json!({"identifier": "id3", "blueprint": "s"})),
        ];
        assert_eq!(ids(&changed_entities(source, &port)), ["id1", "id2"]);
        assert!(changed_entities(vec![], &port).is_empty());
    }

    #[test]
    fn changed_entities_returns_all_when_a_search_relation_is_used() {
        let port = vec![entity(json!({"identifier": "id1", "blueprint": "s"}))];
        let source = vec![
            entity(json!({"identifier": "id1", "blueprint": "s"})),
            entity(
                json!({"identifier": "id2", "blueprint": "s", "relations": {"r": {"combinator": "and", "rules": []}}}),
            ),
        ];
        assert_eq!(changed_entities(source, &port).len(), 2);
    }
}
