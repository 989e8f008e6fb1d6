//! The simulated third party: deterministic departments and persons derived from indices, so a
//! run with smaller counts yields a subset of a run with larger ones.

use serde_json::{Value, json};

const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Support",
    "Legal",
    "Research",
    "Operations",
];
const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "John",
    "Katherine",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Tim",
    "Yukihiro",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Liskov",
    "Shannon",
    "Knuth",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Backus",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Berners-Lee",
    "Matsumoto",
];
const BIO_SENTENCE: &str = "Writes careful software, reviews it twice, and ships it on time. ";

/// The name of department `d`.
pub fn department_name(d: usize) -> String {
    let base = DEPARTMENTS[d % DEPARTMENTS.len()];
    match d / DEPARTMENTS.len() {
        0 => base.to_owned(),
        round => format!("{base} {}", round + 1),
    }
}

/// The name of the department with id `dept-{d}`; `None` for an id of another form.
pub fn department_name_of(id: &str) -> Option<String> {
    let index = id.strip_prefix("dept-")?.parse::<usize>().ok()?;
    Some(department_name(index))
}

/// Department `d` as the third party returns it.
pub fn department(d: usize) -> Value {
    json!({"id": format!("dept-{d}"), "name": department_name(d)})
}

/// A bio of exactly `bytes` bytes (ASCII), the same for everyone of the same size.
pub fn bio(bytes: usize) -> String {
    BIO_SENTENCE.chars().cycle().take(bytes).collect()
}

/// Person `p` of department `d`, with a bio of `bio` (shared text, to keep generation cheap).
pub fn person(d: usize, p: usize, bio: &str) -> Value {
    let first = FIRST_NAMES[(d * 7 + p) % FIRST_NAMES.len()];
    let last = LAST_NAMES[(d * 3 + p * 5) % LAST_NAMES.len()];
    json!({
        "id": format!("person-{d}-{p}"),
        "name": format!("{first} {last}"),
        "email": format!("person-{d}-{p}@fake.example"),
        "age": 20 + (d * 31 + p * 7) % 45,
        "status": if (d + p).is_multiple_of(3) { "NOPE" } else { "WORKING" },
        "department": {"id": format!("dept-{d}"), "name": department_name(d)},
        "bio": bio,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persons_are_deterministic_and_derive_from_their_indices() {
        let bio = bio(16);
        assert_eq!(person(2, 7, &bio), person(2, 7, &bio));
        let p = person(2, 7, &bio);
        assert_eq!(p["id"], "person-2-7");
        assert_eq!(p["department"]["id"], "dept-2");
        assert_eq!(p["department"]["name"], department_name(2));
        assert!(matches!(p["status"].as_str(), Some("WORKING" | "NOPE")));
    }

    #[test]
    fn department_names_are_found_from_their_ids() {
        assert_eq!(department_name_of("dept-3"), Some(department_name(3)));
        assert_eq!(department_name_of("dept-x"), None);
        assert_eq!(department_name_of("3"), None);
    }

    #[test]
    fn bio_has_the_requested_size() {
        assert_eq!(bio(1024).len(), 1024);
        assert_eq!(bio(0), "");
    }

    #[test]
    fn department_names_stay_unique_past_the_list() {
        assert_ne!(department_name(0), department_name(DEPARTMENTS.len()));
    }
}
