//! How bulk calls are cut into requests Port accepts.

/// Bytes of `{"entities":[` and `]}` around the entities of a bulk upsert body.
pub(super) const BULK_ENVELOPE_BYTES: usize = r#"{"entities":[]}"#.len();

/// Size limits of bulk requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkLimits {
    /// Most entities in one bulk upsert request (Port's limit is 20).
    pub max_entities: usize,
    /// Most bytes of one bulk upsert body, measured on the serialized entities.
    pub max_bytes: usize,
    /// Most identifiers in one bulk delete request (Port's limit is 100).
    pub delete_chunk: usize,
    /// Page size of the datasource entities search.
    pub datasource_page: usize,
}

impl Default for BulkLimits {
    fn default() -> Self {
        Self {
            max_entities: 20,
            max_bytes: 1024 * 1024,
            delete_chunk: 100,
            datasource_page: 5000,
        }
    }
}

/// The entities of one bulk request: one blueprint, indexes into the caller's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Chunk {
    pub blueprint: String,
    pub indexes: Vec<usize>,
}

/// Groups items by blueprint (first-seen order) and cuts each group, in input order, into chunks
/// of at most `max_entities` items whose bulk body stays within `max_bytes`. An item too large
/// for any chunk goes alone, so Port can answer for it (413 falls back to a single upsert).
pub(super) fn plan_chunks<'a>(
    items: impl IntoIterator<Item = (&'a str, usize)>,
    limits: &BulkLimits,
) -> Vec<Chunk> {
    let max_entities = limits.max_entities.max(1);
    // Open chunk per blueprint: (chunk, body bytes so far); closed chunks in creation order.
    let mut open: Vec<(Chunk, usize)> = Vec::new();
    let mut done: Vec<(usize, Chunk)> = Vec::new();
    let mut group_order: Vec<&str> = Vec::new();
    for (index, (blueprint, len)) in items.into_iter().enumerate() {
        let group = match group_order.iter().position(|b| *b == blueprint) {
            Some(g) => g,
            None => {
                group_order.push(blueprint);
                open.push((
                    Chunk {
                        blueprint: blueprint.to_owned(),
                        indexes: Vec::new(),
                    },
                    BULK_ENVELOPE_BYTES,
                ));
                group_order.len() - 1
            }
        };
        let (chunk, bytes) = &mut open[group];
        let separator = usize::from(!chunk.indexes.is_empty());
        let fits = chunk.indexes.len() < max_entities
            && bytes.saturating_add(separator + len) <= limits.max_bytes;
        if !chunk.indexes.is_empty() && !fits {
            let full = std::mem::replace(
                chunk,
                Chunk {
                    blueprint: blueprint.to_owned(),
                    indexes: Vec::new(),
                },
            );
            done.push((group, full));
            *bytes = BULK_ENVELOPE_BYTES;
        }
        let separator = usize::from(!chunk.indexes.is_empty());
        *bytes = bytes.saturating_add(separator + len);
        chunk.indexes.push(index);
    }
    for (group, (chunk, _)) in open.into_iter().enumerate() {
        if !chunk.indexes.is_empty() {
            done.push((group, chunk));
        }
    }
    // Stable sort keeps chunk order inside a group while putting groups in first-seen order.
    done.sort_by_key(|(group, _)| *group);
    done.into_iter().map(|(_, chunk)| chunk).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_entities: usize, max_bytes: usize) -> BulkLimits {
        BulkLimits {
            max_entities,
            max_bytes,
            ..BulkLimits::default()
        }
    }

    #[test]
    fn splits_45_small_entities_into_chunks_of_at_most_20() {
        let items = vec![("svc", 50usize); 45];
        let chunks = plan_chunks(items, &BulkLimits::default());
        let sizes: Vec<usize> = chunks.iter().map(|c| c.indexes.len()).collect();
        assert_eq!(sizes, vec![20, 20, 5]);
        let all: Vec<usize> = chunks.iter().flat_map(|c| c.indexes.clone()).collect();
        assert_eq!(all, (0..45).collect::<Vec<_>>());
    }

    #[test]
    fn byte_cap_counts_envelope_and_commas() {
        // Envelope 15 + 3 items of 10 + 2 commas = 47 bytes.
        let items = vec![("svc", 10usize); 3];
        assert_eq!(plan_chunks(items.clone(), &limits(20, 47)).len(), 1);
        assert_eq!(plan_chunks(items, &limits(20, 46)).len(), 2);
    }

    #[test]
    fn oversized_entity_goes_alone_and_groups_keep_first_seen_order() {
        let items = vec![("b", 10), ("a", 10), ("b", 5000), ("b", 10), ("a", 10)];
        let chunks = plan_chunks(items, &limits(20, 100));
        let shape: Vec<(&str, Vec<usize>)> = chunks
            .iter()
            .map(|c| (c.blueprint.as_str(), c.indexes.clone()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("b", vec![0]),
                ("b", vec![2]),
                ("b", vec![3]),
                ("a", vec![1, 4])
            ]
        );
    }

    #[test]
    fn no_items_make_no_chunks() {
        assert!(plan_chunks(Vec::<(&str, usize)>::new(), &BulkLimits::default()).is_empty());
    }
}
