//! Deterministic synthetic persons, identical to the benchmark kit's `bench_items.make_person`.

use serde_json::{Value, json};

const DEPTS: [&str; 7] = [
    "engineering",
    "marketing",
    "finance",
    "support",
    "sales",
    "legal",
    "hr",
];
const CITIES: [(&str, &str); 7] = [
    ("Tel Aviv", "IL"),
    ("Berlin", "DE"),
    ("Austin", "US"),
    ("Lyon", "FR"),
    ("Osaka", "JP"),
    ("Porto", "PT"),
    ("Toronto", "CA"),
];
const SKILLS: [&str; 10] = [
    "python",
    "rust",
    "go",
    "sql",
    "k8s",
    "terraform",
    "react",
    "jq",
    "kafka",
    "redis",
];
const STATUS: [&str; 4] = ["WORKING", "WORKING", "WORKING", "ON_LEAVE"];
const WORDS: &str = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor \
    incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud \
    exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat";

/// Pseudo-text of `n_chars` characters, deterministic in `i`.
fn text(i: u64, n_chars: usize) -> String {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::new();
    let (mut k, mut length) = (i, 0usize);
    while length < n_chars {
        let w = words[(k % words.len() as u64) as usize];
        out.push(w);
        length += w.len() + 1;
        k = (k * 7 + 3) % 9973;
    }
    let mut joined = out.join(" ");
    joined.truncate(n_chars);
    joined
}

/// The `i`-th person (~1 KB as compact JSON).
pub(crate) fn make_person(i: u64) -> Value {
    make_person_with_bio(i, 610)
}

/// The `i`-th person with a bio of `bio_chars` characters.
pub(crate) fn make_person_with_bio(i: u64, bio_chars: usize) -> Value {
    let idx = |n: usize| (i % n as u64) as usize;
    let (city, country) = CITIES[idx(CITIES.len())];
    let dept = DEPTS[idx(DEPTS.len())];
    let skills: Vec<&str> = (0..1 + i % 4)
        .map(|k| SKILLS[((i + k) % SKILLS.len() as u64) as usize])
        .collect();
    json!({
        "id": format!("person-{i:07}"),
        "name": format!("Person Number {i}"),
        "email": format!("person.{i}@bench.example.com"),
        "status": STATUS[idx(STATUS.len())],
        "age": 20 + (i * 37) % 60,
        "department": {"id": format!("dept-{dept}"), "name": dept},
        "address": {
            "street": format!("{} Example Street", (i * 13) % 900 + 1),
            "city": city,
            "country": country,
            "zip": format!("{:05}", (i * 7919) % 100_000),
        },
        "skills": skills,
        "manager_id": format!("person-{:07}", i / 10),
        "phone": format!("+1-555-{:04}", (i * 31) % 10_000),
        "tags": {"team": format!("team-{}", i % 40), "level": format!("L{}", 1 + i % 7)},
        "updated_at": format!("2025-01-{:02}T{:02}:{:02}:00Z", 1 + i % 28, i % 24, i % 60),
        "bio": text(i, bio_chars),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_matches_the_python_generator() {
        // python3 -c 'import json,bench_items; print(json.dumps(bench_items.make_person(123), separators=(",", ":")))'
        let expected = include_str!("../testdata/person_123.json").trim();
        assert_eq!(make_person(123).to_string(), expected);
    }
}
