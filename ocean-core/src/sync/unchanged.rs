//! Skipping entities that Port already holds as mapped: a resync looks its batch up in Port and
//! writes only what differs, so an unchanged catalog costs searches, not writes.

use super::diff;
use crate::port::client::{PortClient, PortError};
use crate::port::{Entity, Query, QueryNode};
use futures::StreamExt;
use serde_json::Value;
use std::collections::BTreeSet;

/// Batches of at most this many entities are written without a lookup: the search would cost
/// as much as the write.
pub(crate) const MIN_ENTITIES_TO_COMPARE: usize = 10;

/// Identifiers per search request.
pub(crate) const LOOKUP_CHUNK: usize = 50;

/// Search requests in flight per batch.
const LOOKUP_CONCURRENCY: usize = 4;

/// True when comparing `entities` with Port can save writes: more than
/// [`MIN_ENTITIES_TO_COMPARE`] of them and none using a search identifier or relation (Port
/// resolves those, so they cannot be compared here).
pub(crate) fn worth_comparing(entities: &[Entity]) -> bool {
    entities.len() > MIN_ENTITIES_TO_COMPARE
        && !entities
            .iter()
            .any(|e| e.uses_search_identifier() || e.uses_search_relation())
}

/// The searches that fetch the Port copies of `entities`: per blueprint (first-seen order),
/// chunks of [`LOOKUP_CHUNK`] identifiers.
pub(crate) fn lookup_queries(entities: &[Entity]) -> Vec<Query> {
    let mut blueprints: Vec<(&str, Vec<Value>)> = Vec::new();
    for entity in entities {
        match blueprints
            .iter_mut()
            .find(|(bp, _)| *bp == entity.blueprint)
        {
            Some((_, ids)) => ids.push(entity.identifier.clone()),
            None => blueprints.push((&entity.blueprint, vec![entity.identifier.clone()])),
        }
    }
    blueprints
        .into_iter()
        .flat_map(|(blueprint, ids)| {
            ids.chunks(LOOKUP_CHUNK)
                .map(|chunk| {
                    Query::and(vec![
                        QueryNode::rule("$identifier", "in", Value::Array(chunk.to_vec())),
                        QueryNode::rule("$blueprint", "=", Value::String(blueprint.to_owned())),
                    ])
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The fields the comparison needs: identifier, blueprint, and what the mapping sets (title,
/// team, each property and relation), so properties set by others do not count as changes.
pub(crate) fn lookup_fields(entities: &[Entity]) -> Vec<String> {
    let mut fields: BTreeSet<String> = ["identifier", "blueprint"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    for entity in entities {
        if entity.title.is_some() {
            fields.insert("title".into());
        }
        if entity.team.is_some() {
            fields.insert("team".into());
        }
        for key in entity.properties.iter().flat_map(|p| p.keys()) {
            fields.insert(format!("properties.{key}"));
        }
        for key in entity.relations.iter().flat_map(|r| r.keys()) {
            fields.insert(format!("relations.{key}"));
        }
    }
    fields.into_iter().collect()
}

/// Splits `entities` into those that differ from (or are missing in) Port, in input order, and
/// the number found unchanged. Only entities this integration owns are looked up. On failure
/// the entities come back with the error, so the caller can write them all.
pub(crate) async fn changed_in_port(
    port: &PortClient,
    entities: Vec<Entity>,
) -> Result<(Vec<Entity>, u64), (PortError, Vec<Entity>)> {
    match port_copies(port, &entities).await {
        Ok(in_port) => {
            let total = entities.len();
            let changed = diff::changed_entities(entities, &in_port);
            let unchanged = (total - changed.len()) as u64;
            Ok((changed, unchanged))
        }
        Err(error) => Err((error, entities)),
    }
}

async fn port_copies(port: &PortClient, entities: &[Entity]) -> Result<Vec<Entity>, PortError> {
    let queries = lookup_queries(entities);
    let fields = lookup_fields(entities);
    let include: Vec<&str> = fields.iter().map(String::as_str).collect();
    let include = &include;
    let mut answers = futures::stream::iter(queries)
        .map(|query| async move { port.search_owned_entities(&query, include).await })
        .buffer_unordered(LOOKUP_CONCURRENCY);
    let mut in_port = Vec::new();
    while let Some(answer) = answers.next().await {
        in_port.extend(answer?);
    }
    Ok(in_port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entities(n: usize, bp: &str) -> Vec<Entity> {
        (0..n)
            .map(|i| {
                serde_json::from_value(json!({
                    "identifier": format!("e{i}"), "blueprint": bp,
                    "title": "t", "properties": {"a": i}, "relations": {"owner": "x"}
                }))
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn small_batches_and_search_relations_are_not_compared() {
        // 193/194: at most 10 entities, or a search query, go straight to the upsert.
        assert!(!worth_comparing(&entities(10, "s")));
        assert!(worth_comparing(&entities(11, "s")));
        let mut with_search = entities(20, "s");
        with_search[3].team = Some(json!({"combinator": "and", "rules": []}));
        assert!(!worth_comparing(&with_search));
    }

    #[test]
    fn lookups_are_chunked_by_fifty_per_blueprint() {
        // 196: 75 entities → two searches, 50 and 25 identifiers.
        let queries = lookup_queries(&entities(75, "s"));
        let sizes: Vec<usize> = queries
            .iter()
            .map(|q| match &q.rules[0] {
                QueryNode::Rule(r) => r.value.as_array().map_or(0, Vec::len),
                QueryNode::Group(_) => 0,
            })
            .collect();
        assert_eq!(sizes, [50, 25]);
        let mut mixed = entities(3, "a");
        mixed.extend(entities(2, "b"));
        let queries = lookup_queries(&mixed);
        assert_eq!(queries.len(), 2);
        let json = serde_json::to_value(&queries[1]).unwrap();
        assert_eq!(
            json["rules"][1],
            json!({"property": "$blueprint", "operator": "=", "value": "b"})
        );
    }

    #[test]
    fn lookup_fields_name_what_the_mapping_sets() {
        let fields = lookup_fields(&entities(2, "s"));
        assert_eq!(
            fields,
            [
                "blueprint",
                "identifier",
                "properties.a",
                "relations.owner",
                "title"
            ]
        );
    }
}
