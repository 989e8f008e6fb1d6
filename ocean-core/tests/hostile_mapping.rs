//! Hostile input to the mapping side, by property: the port-app-config parser
//! (`PortAppConfig::parse`, `from_value`), jq compilation and evaluation of arbitrary user
//! expressions, and `CompiledResource::map_batch`. Whatever the input (deep nesting, huge
//! numbers, invalid UTF-8 made lossy, duplicate keys, enormous strings, pathological regular
//! expressions, recursion that never ends), the answer is a value or a clear error within a
//! bounded time: never a panic, a stack overflow or a hang.
//!
//! Every case runs on its own thread with the default 2 MiB stack (what tokio and rayon threads
//! have) under a timeout. Case counts are kept small so the suite stays within seconds; set
//! `PROPTEST_CASES` to run more. Inputs that once failed are kept as explicit tests below and in
//! `hostile_mapping.proptest-regressions`.

use ocean::mapping::{CompiledResource, JqEngine, PortAppConfig};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// Longer than the jq engine's evaluation time limit (10 s), so a case that hits the limit
/// fails with its error rather than with this timeout.
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

static ENGINE: LazyLock<JqEngine> = LazyLock::new(JqEngine::default);

/// Runs `f` on a fresh thread with the default stack; panics (failing the case) when it
/// panics or has not finished within `limit`.
fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .unwrap();
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("no answer within {limit:?}"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("the case panicked"),
    }
}

/// Compiles and runs `expr` on `input` (first and all outputs); the error text or the outputs.
fn eval(expr: &str, input: &Value) -> Result<Vec<Value>, String> {
    let program = ENGINE.compile(expr).map_err(|e| e.to_string())?;
    program.first(input).map_err(|e| e.to_string())?;
    program.all(input).map_err(|e| e.to_string())
}

fn eval_bounded(expr: impl Into<String>, input: Value) -> Result<Vec<Value>, String> {
    let expr = expr.into();
    bounded(CASE_TIMEOUT, move || eval(&expr, &input))
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// JSON values of every type, including huge, tiny and negative numbers, empty and
/// non-ASCII strings, and nesting.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(1.7976931348623157e308)),
        Just(json!(-5e-324)),
        Just(json!(u64::MAX)),
        ".{0,20}".prop_map(Value::String),
        "[a!]{0,64}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{0,4}", inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Pieces of jq: paths, operators, literals (huge numbers too), builtins, regular expressions
/// (pathological ones too), definitions, destructuring, and syntax that does not parse.
const JQ_PIECES: &[&str] = &[
    ".",
    ".a",
    ".[0]",
    ".[]",
    ".[]?",
    "..",
    ".[1:]",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    "|",
    ",",
    ";",
    ":",
    "+",
    "-",
    "*",
    "/",
    "%",
    "==",
    "<",
    "and",
    "or",
    "not",
    "//",
    "?",
    "?//",
    "$x",
    "$__loc__",
    "as $x",
    "as [$x]",
    "as {a: $x}",
    "1",
    "0",
    "-1",
    "1e400",
    "-1e400",
    "123456789012345678901234567890123456789012345678901234567890",
    "0.1",
    "nan",
    "infinite",
    "null",
    "true",
    "\"s\"",
    "\"\\(.)\"",
    "\"\\u0000\"",
    "\"é\"",
    "@base64d",
    "@csv",
    "@sh",
    "@uri",
    "@json",
    "@text",
    "tostring",
    "tojson",
    "fromjson",
    "tonumber",
    "length?",
    "keys",
    "values",
    "add",
    "flatten",
    "flatten(1e9)",
    "sort",
    "unique",
    "group_by(.)",
    "to_entries",
    "from_entries",
    "with_entries(.)",
    "paths",
    "leaf_paths",
    "tostream",
    "fromstream(tostream)",
    "getpath([\"a\",0])",
    "setpath([1e9]; 1)",
    "delpaths([[0]])",
    "splits(\"a*\")",
    "test(\"(a+)+$\")",
    "test(\"(a|aa)+\\\\1$\")",
    "match(\"(?=a)\"; \"g\")",
    "capture(\"(?<n>a+)\")",
    "sub(\"(a*)*b\"; \"x\")",
    "gsub(\"\"; \"-\")",
    "scan(\"(a+)+\")",
    "split(\"\")",
    "join(\",\")",
    "ascii_downcase",
    "explode",
    "implode",
    "ltrimstr(\"a\")",
    "limit(3; .[])",
    "first(.[])",
    "last",
    "until(true; .)",
    "isempty(.[])",
    "error",
    "error(.)",
    "try error catch .",
    "if . then 1 end",
    "if . then 1 else 2 end",
    "reduce .[] as $i (0; . + 1)",
    "foreach .[] as $i (0; . + 1)",
    "def f: .; f",
    "def g(f): f; g(.)",
    "input",
    "env",
    "$ENV",
    "halt",
    "halt_error",
    "now",
    "todate",
    "fromdate",
    "strptime(\"%Y\")",
    "mktime",
    "splits",
    "indices(\"\")",
    "tojson * 1000",
    "\"x\" * 1e18",
    "pow(10; 400)",
    "log",
    "infinite | floor",
    "[.[]?] | implode",
    "ltrimstr",
    "@base32d",
    "significand",
    "getpath",
    "ascii",
    "$",
    "'a'",
    "\"",
    "\\",
    "#",
    "\n",
];

fn jq_expression() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(JQ_PIECES), 1..10).prop_map(|p| p.join(" "))
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_jq_compiles_or_fails_and_runs_or_fails_in_bounded_time(
        expr in jq_expression(),
        input in json_value(),
    ) {
        let _ = eval_bounded(expr, input);
    }

    #[test]
    fn arbitrary_text_as_jq_is_refused_or_runs(expr in ".{0,40}", input in json_value()) {
        let _ = eval_bounded(expr, input);
    }

    #[test]
    fn common_builtins_on_arbitrary_json_answer(input in json_value()) {
        for expr in [
            "tostring", "tojson | fromjson", "[.. | numbers]", "[paths]", "tostream",
            "to_entries?", "flatten?", "add?", "sort?", "unique?", "keys?", "@base64?",
            "@csv?", "@sh?", "test(\"(a+)+$\")?", "[splits(\"a\")]?", ".[0:2]?", "implode?",
            "tonumber?", "ascii_downcase?", "walk(.)", "getpath([\"a\", 0])?", "length?",
        ] {
            let outcome = eval_bounded(expr, input.clone());
            prop_assert!(outcome.is_ok(), "{expr} on {input}: {outcome:?}");
        }
    }

    #[test]
    fn arbitrary_text_as_a_port_app_config_is_parsed_or_refused(text in ".{0,200}") {
        let _ = bounded(CASE_TIMEOUT, move || PortAppConfig::parse(&text).map(|_| ()).map_err(|e| e.to_string()));
    }

    #[test]
    fn arbitrary_json_as_a_port_app_config_is_parsed_or_refused(value in json_value()) {
        let wrapped = json!({"resources": [value.clone()]});
        let _ = bounded(CASE_TIMEOUT, move || {
            let a = PortAppConfig::from_value(&value).map(|_| ()).map_err(|e| e.to_string());
            let b = PortAppConfig::from_value(&wrapped).map(|_| ()).map_err(|e| e.to_string());
            (a, b)
        });
    }

    #[test]
    fn arbitrary_mappings_map_arbitrary_items_in_bounded_time(
        selector in jq_expression(),
        identifier in jq_expression(),
        title in jq_expression(),
        items_to_parse in prop::option::of(jq_expression()),
        items in prop::collection::vec(json_value(), 0..4),
    ) {
        let mut port = json!({
            "entity": {"mappings": {
                "identifier": identifier,
                "blueprint": "\"service\"",
                "title": title,
                "properties": {"p": ".a"},
            }}
        });
        if let Some(expr) = items_to_parse {
            port["itemsToParse"] = json!(expr);
        }
        let config = json!({"resources": [{"kind": "k", "selector": {"query": selector}, "port": port}]});
        let outcome = bounded(CASE_TIMEOUT, move || {
            let config = PortAppConfig::from_value(&config).map_err(|e| e.to_string())?;
            let resource = CompiledResource::new(&config.resources[0], &ENGINE);
            let first = resource.map_batch(&items, false);
            let second = resource.map_batch(&items, true);
            Ok::<_, String>((first.entities.len(), second.entities.len()))
        });
        // A config that parses always maps: failures are reported per item, never as a crash.
        let _ = outcome;
    }
}

// ---------------------------------------------------------------------------------------------
// Explicit hostile inputs, and every input that once failed.

fn is_error(outcome: &Result<Vec<Value>, String>, containing: &str) -> bool {
    matches!(outcome, Err(e) if e.contains(containing))
}

#[test]
fn fromjson_of_text_nested_deeper_than_the_limit_is_an_error_not_a_stack_overflow() {
    // Found by these tests: jaq's parser recursed once per bracket and aborted the process on
    // `"[" * 100000` (10000 levels, jq's own limit, already overflowed a 2 MiB thread).
    for text in [
        "[".repeat(100_000),
        "[".repeat(10_000) + &"]".repeat(10_000),
        "{\"a\":".repeat(10_000) + "1" + &"}".repeat(10_000),
    ] {
        let outcome = eval_bounded("fromjson", Value::String(text));
        assert!(is_error(&outcome, "depth limit"), "{outcome:?}");
    }
    // Deep but within the limit still parses, and brackets inside strings do not count.
    let ok = "[".repeat(500) + &"]".repeat(500);
    assert_eq!(
        eval_bounded("fromjson | length", Value::String(ok)),
        Ok(vec![json!(1)])
    );
    let quoted = format!("[\"{}\"]", "[".repeat(100_000));
    assert_eq!(
        eval_bounded("fromjson | length", Value::String(quoted)),
        Ok(vec![json!(1)])
    );
}

#[test]
fn recursion_that_never_grows_the_stack_fails_at_the_time_limit() {
    // Found by these tests: `def f: f; f` and collecting an endless stream ran forever.
    let cases = [
        "def f: f; f",
        "[repeat(.)] | length",
        "[limit(1e18; repeat(1))] | length",
    ];
    let handles: Vec<_> = cases
        .into_iter()
        .map(|expr| {
            std::thread::spawn(move || (expr, Instant::now(), eval_bounded(expr, json!(1))))
        })
        .collect();
    for handle in handles {
        let (expr, started, outcome) = handle.join().unwrap();
        assert!(is_error(&outcome, "time limit"), "{expr}: {outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(20), "{expr}");
    }
}

#[test]
fn deep_recursion_fails_at_the_stack_budget() {
    for expr in ["def f: 1 + f; f", "def f: [f]; f"] {
        let outcome = eval_bounded(expr, json!(null));
        assert!(is_error(&outcome, "stack budget"), "{expr}: {outcome:?}");
    }
}

/// Known, not yet fixed: these run past the 30 s case timeout instead of failing at the stack
/// budget or the time limit.
#[test]
#[ignore = "known hang: recursion through an object constructor or both sides of `+`"]
fn recursion_through_objects_or_both_operands_fails_in_bounded_time() {
    for expr in ["def f: {a: f}; f", "def f: f + f; f"] {
        let outcome = eval_bounded(expr, json!(null));
        assert!(outcome.is_err(), "{expr}: {outcome:?}");
    }
}

/// Known, not yet fixed: `[range(1e18)]` collects natively, past every guard.
#[test]
#[ignore = "known hang: a native endless stream collected into an array"]
fn collecting_a_native_endless_stream_fails_in_bounded_time() {
    let outcome = eval_bounded("[range(1e18)] | length", json!(null));
    assert!(outcome.is_err(), "{outcome:?}");
}

/// Known, not yet fixed: a values nested 20000 deep by `reduce` overflows the stack when jaq
/// drops it.
#[test]
#[ignore = "known crash: jaq drops deeply nested values recursively"]
fn a_value_built_deeply_nested_is_dropped_without_overflow() {
    let outcome = eval_bounded(
        "reduce range(100000) as $i (null; [.]) | length",
        json!(null),
    );
    assert!(
        outcome.is_err() || outcome == Ok(vec![json!(1)]),
        "{outcome:?}"
    );
}

#[test]
fn lazy_endless_streams_answer_their_first_value() {
    assert_eq!(
        eval_bounded("first(repeat(.))", json!(7)),
        Ok(vec![json!(7)])
    );
    assert_eq!(
        eval_bounded("first(range(1e18))", json!(null)),
        Ok(vec![json!(0)])
    );
    assert_eq!(
        eval_bounded("[limit(3; repeat(1))]", json!(null)),
        Ok(vec![json!([1, 1, 1])])
    );
    let first = ENGINE.compile("range(1e18)").unwrap().first(&json!(null));
    assert_eq!(first, Ok(Some(json!(0))));
}

#[test]
fn catastrophic_backtracking_is_bounded() {
    let long = Value::String("a".repeat(100_000) + "!");
    for expr in [
        "test(\"(a+)+$\")",
        "test(\"(a+)+(?=b)\")",
        "[match(\"(a+)+(?=b)\"; \"g\")] | length",
        "gsub(\"(a*)*(?=b)\"; \"x\") | length",
        "test(\"(a|aa)+\\\\1$\")",
    ] {
        let started = Instant::now();
        let outcome = eval_bounded(expr, long.clone());
        assert!(
            outcome.is_ok() || is_error(&outcome, "backtracking"),
            "{expr}: {outcome:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{expr} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn huge_numbers_become_the_largest_double() {
    for expr in [
        "1e400",
        "pow(10; 400)",
        "123456789012345678901234567890123456789012345678901234567890 * 1e300",
    ] {
        assert_eq!(
            eval_bounded(expr, json!(null)),
            Ok(vec![json!(f64::MAX)]),
            "{expr}"
        );
    }
    let digits = "9".repeat(300);
    let parsed: Value = serde_json::from_str(&digits).unwrap();
    assert_eq!(
        eval_bounded("tostring | length > 0", parsed),
        Ok(vec![json!(true)])
    );
}

#[test]
fn enormous_strings_are_handled_or_capped() {
    let big = json!({"a": "x".repeat(20_000_000)});
    assert_eq!(
        eval_bounded("tostring | length", big.clone()),
        Ok(vec![json!(20_000_008)])
    );
    assert_eq!(
        eval_bounded(".a | test(\"(x+)+y\")", big),
        Ok(vec![json!(false)])
    );
    // jq's string repetition is capped rather than allocating an exabyte.
    let outcome = eval_bounded("\"x\" * 1e18 | length", json!(null));
    assert!(outcome.is_ok() || outcome.is_err(), "{outcome:?}");
}

#[test]
fn expressions_nested_too_deeply_are_refused_at_compile_time() {
    for expr in [
        "[".repeat(100_000),
        "(".repeat(100_000) + &")".repeat(100_000),
        "{a:".repeat(50_000),
    ] {
        let outcome = eval_bounded(expr, json!(null));
        assert!(outcome.is_err(), "{outcome:?}");
    }
}

fn parse_bounded(text: String) -> Result<usize, String> {
    bounded(CASE_TIMEOUT, move || {
        PortAppConfig::parse(&text)
            .map(|c| c.resources.len())
            .map_err(|e| e.to_string())
    })
}

#[test]
fn a_port_app_config_nested_deeply_is_refused() {
    let deep = format!("resources: {}", "[".repeat(100_000));
    assert!(parse_bounded(deep).is_err());
    let deep_flow = format!(
        "resources:\n  - kind: k\n    extra: {}1{}",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    );
    assert!(parse_bounded(deep_flow).is_err());
}

#[test]
fn a_port_app_config_with_duplicate_keys_is_refused_or_parsed() {
    let duplicate = "resources:\n  - kind: a\n    kind: b\n    port: {entity: {mappings: {identifier: .id, blueprint: '\"b\"'}}}\n";
    let _ = parse_bounded(duplicate.to_owned());
}

#[test]
fn a_port_app_config_with_huge_numbers_is_refused_or_parsed() {
    let numbers = "resources:\n  - kind: k\n    selector: {query: true}\n    port: {entity: {mappings: {identifier: 1e400, blueprint: 123456789012345678901234567890123456789012345678901234567890}}}\n";
    let _ = parse_bounded(numbers.to_owned());
}

/// A chain of 1000 binary operators, which would overflow a 2 MiB stack while compiling, is
/// refused as a compile error (the selector then fails its items); the process lives on.
#[test]

fn an_enormous_selector_compiles_or_is_refused_in_bounded_time() {
    let started = Instant::now();
    let huge = format!(
        "resources:\n  - kind: k\n    selector: {{query: '{}'}}\n    port: {{entity: {{mappings: {{identifier: .id, blueprint: '\"b\"'}}}}}}\n",
        "true and ".repeat(1000) + "true"
    );
    let _ = bounded(CASE_TIMEOUT, move || {
        PortAppConfig::parse(&huge).map(|c| {
            CompiledResource::new(&c.resources[0], &ENGINE)
                .map_batch(&[json!({"id": "x"})], false)
                .entities
                .len()
        })
    });
    println!("an enormous selector took {:?}", started.elapsed());
}
