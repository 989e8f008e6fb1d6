#![allow(clippy::needless_pass_by_value)] // test helpers take owned `json!` literals

use super::*;
use serde_json::json;

fn eval(expr: &str, input: Value) -> Result<Vec<Value>, JqError> {
    JqEngine::default().compile(expr)?.all(&input)
}

fn one(expr: &str, input: Value) -> Value {
    let out = eval(expr, input).unwrap_or_else(|e| panic!("{expr}: {e}"));
    assert_eq!(out.len(), 1, "{expr} gave {out:?}");
    out.into_iter().next().unwrap()
}

#[test]
fn first_output_only_and_none_when_empty() {
    let engine = JqEngine::default();
    let p = engine
        .compile(r#".parameters[] | select(.name == "x") | .value"#)
        .unwrap();
    let input = json!({"parameters": [{"name": "x", "value": "a"}, {"name": "x", "value": "b"}]});
    assert_eq!(p.first(&input).unwrap(), Some(json!("a")));
    assert_eq!(p.first(&json!({"parameters": []})).unwrap(), None);
}

#[test]
fn compile_is_cached_by_source() {
    let engine = JqEngine::default();
    let a = engine.compile(".foo").unwrap();
    let b = engine.compile(".foo").unwrap();
    assert!(Arc::ptr_eq(&a.inner, &b.inner));
}

#[test]
fn compile_error_names_expression_and_problem() {
    let err = JqEngine::default().compile(".foo.").unwrap_err();
    assert!(matches!(&err, JqError::Compile { expr, .. } if expr == ".foo."));
    let err = JqEngine::default().compile("nosuchfn(1)").unwrap_err();
    assert!(
        err.to_string().contains("nosuchfn/1 is not defined"),
        "{err}"
    );
}

#[test]
fn runtime_error_keeps_the_error_message() {
    let err = eval(r#"error("boom")"#, json!(null)).unwrap_err();
    assert_eq!(
        err,
        JqError::Runtime {
            expr: r#"error("boom")"#.into(),
            message: "boom".into()
        }
    );
}

#[test]
fn all_stops_at_first_error() {
    let err = eval(r#"1, error("x"), 2"#, json!(null)).unwrap_err();
    assert!(matches!(err, JqError::Runtime { .. }));
}

#[test]
fn integral_results_print_as_integers() {
    assert_eq!(one("10 / 2", json!(null)), json!(5));
    assert_eq!(one("10 / 2 | tostring", json!(null)), json!("5"));
    assert_eq!(one(r#""\(10 / 2)""#, json!(null)), json!("5"));
    assert_eq!(one(". * 1.0 | tostring", json!(10)), json!("10"));
    assert_eq!(one("[.n / 2] | tojson", json!({"n": 10})), json!("[5]"));
    assert_eq!(one("10 / 4", json!(null)), json!(2.5));
    assert_eq!(one("1.50 | tostring", json!(null)), json!("1.50"));
    assert_eq!(one(".b | tostring", json!({"b": 2.0})), json!("2.0"));
    assert_eq!(one(".b", json!({"b": 2.0})), json!(2));
}

#[test]
fn slicing_null_gives_null() {
    assert_eq!(one(".sha[0:7]", json!({})), json!(null));
    assert_eq!(
        one(".sha[0:7]", json!({"sha": "abcdef123456"})),
        json!("abcdef1")
    );
    assert_eq!(one(".[:3]", json!([1, 2, 3, 4])), json!([1, 2, 3]));
    assert_eq!(one(".[-2:]", json!("hello")), json!("lo"));
    assert_eq!(one("[.[]]", json!([1, 2])), json!([1, 2]));
}

#[test]
fn join_follows_jq_18() {
    assert_eq!(one(r#"join(",")"#, json!(["a", null, "c"])), json!("a,,c"));
    assert_eq!(
        one(r#"join(",")"#, json!([1, true, "a"])),
        json!("1,true,a")
    );
    assert_eq!(one(r#"join(",")"#, json!([])), json!(""));
    assert!(eval(r#"join(",")"#, json!([[1]])).is_err());
}

#[test]
fn jira_url_expression_maps() {
    let issue = json!({"self": "https://api.atlassian.com/rest/api/3/issue/1", "key": "SEC-1"});
    assert_eq!(
        one(
            r#"(.self | split("/") | .[:3] | join("/")) + "/browse/" + .key"#,
            issue
        ),
        json!("https://api.atlassian.com/browse/SEC-1")
    );
}

#[test]
fn base64d_accepts_unpadded_input() {
    assert_eq!(one("@base64d", json!("aGVsbG8")), json!("hello"));
    assert_eq!(one("@base64d", json!("aGVsbG8=")), json!("hello"));
    assert_eq!(one("@base64", json!("hello")), json!("aGVsbG8="));
}

#[test]
fn text_formats_match_jq() {
    assert_eq!(
        one("@csv", json!([1, "a\"b", null, true, 1.5])),
        json!(r#"1,"a""b",,true,1.5"#)
    );
    assert_eq!(one("@tsv", json!([1, "a\tb", null])), json!("1\ta\\tb\t"));
    assert_eq!(one("@sh", json!([1, "a b"])), json!("1 'a b'"));
    assert_eq!(
        one("@html", json!("<&>'\"")),
        json!("&lt;&amp;&gt;&apos;&quot;")
    );
    assert_eq!(one("@uri", json!("ü é/?")), json!("%C3%BC%20%C3%A9%2F%3F"));
    assert_eq!(one(r#"@json "x\(1 + 1.0)""#, json!(null)), json!("x2"));
    assert_eq!(one("@text", json!([1])), json!("[1]"));
    // jq 1.8.2 has no base32 formats.
    assert!(eval("@base32", json!("hello")).is_err());
    assert!(eval("@base32d", json!("NBSWY3DP")).is_err());
    assert!(eval("@csv", json!([[2]])).is_err());
    assert!(eval("@sh", json!({})).is_err());
}

#[test]
fn trimstr_errors_on_non_strings_like_jq_18() {
    assert_eq!(one(r#"ltrimstr("a")"#, json!("abc")), json!("bc"));
    assert_eq!(one(r#"rtrimstr("c")"#, json!("abc")), json!("ab"));
    assert!(eval(r#"ltrimstr("x")"#, json!(null)).is_err());
}

#[test]
fn env_access_follows_the_option() {
    // PATH is set for every test process.
    let with = JqEngine::new(JqOptions { allow_env: true });
    assert_eq!(
        with.compile("$ENV | has(\"PATH\")")
            .unwrap()
            .first(&json!(null))
            .unwrap(),
        Some(json!(true))
    );
    assert_eq!(
        with.compile("env | has(\"PATH\")")
            .unwrap()
            .first(&json!(null))
            .unwrap(),
        Some(json!(true))
    );
    let without = JqEngine::new(JqOptions { allow_env: false });
    assert_eq!(
        without
            .compile("$ENV")
            .unwrap()
            .first(&json!(null))
            .unwrap(),
        Some(json!({}))
    );
    assert_eq!(
        without.compile("env").unwrap().first(&json!(null)).unwrap(),
        Some(json!({}))
    );
}

#[test]
fn builtins_port_mappings_use() {
    assert_eq!(
        one("$__loc__", json!(null)),
        json!({"file": "<top-level>", "line": 1})
    );
    assert!(eval("[limit(-1; 1, 2)]", json!(null)).is_err());
    assert_eq!(one("[limit(2; 1, 2, 3)]", json!(null)), json!([1, 2]));
    assert_eq!(one(r#"indices(",")"#, json!("a,b,c")), json!([1, 3]));
    assert_eq!(
        one(r#"[splits(", *")]"#, json!("a, b,c")),
        json!(["a", "b", "c"])
    );
    assert_eq!(
        one(
            r#"map(select(.q | IN("VW", "SVW"))) | map(.k)"#,
            json!([{"q": "VW", "k": 1}, {"q": "X", "k": 2}, {"q": "SVW", "k": 3}])
        ),
        json!([1, 3])
    );
    assert_eq!(
        one("INDEX(.id)", json!([{"id": 1}, {"id": 2}])),
        json!({"1": {"id": 1}, "2": {"id": 2}})
    );
    // jq 1.8.2 dropped `leaf_paths`; `paths(scalars)` is what it was.
    assert!(eval("[leaf_paths]", json!({"a": 1})).is_err());
    assert_eq!(
        one("[paths(scalars)]", json!({"a": [1, {"b": 2}]})),
        json!([["a", 0], ["a", 1, "b"]])
    );
    assert_eq!(
        one(r#"getpath(["a", "b"])"#, json!({"a": {"b": 3}})),
        json!(3)
    );
    assert_eq!(
        one("[tostream]", json!({"a": [1]})),
        json!([[["a", 0], 1], [["a", 0]], [["a"]]])
    );
    assert_eq!(
        one("tojson | fromjson", json!({"b": 1, "a": 2})),
        json!({"b": 1, "a": 2})
    );
    assert_eq!(one(r#"test("B"; "i")"#, json!("abc")), json!(true));
    assert_eq!(
        one(r#"capture("(?<x>[0-9]+)")"#, json!("ab12")),
        json!({"x": "12"})
    );
    assert_eq!(one(r#"gsub("a"; "b")"#, json!("aXa")), json!("bXb"));
    assert_eq!(
        one(r#"sub("(?<x>a)"; "<\(.x)>")"#, json!("aXa")),
        json!("<a>Xa")
    );
    assert_eq!(one(r#"[scan("X")]"#, json!("aXbX")), json!(["X", "X"]));
    assert_eq!(one("ascii_downcase", json!("AbC")), json!("abc"));
    assert_eq!(one("keys", json!({"b": 1, "a": 2})), json!(["a", "b"]));
    assert_eq!(
        one("to_entries | map(.key)", json!({"b": 1, "a": 2})),
        json!(["b", "a"])
    );
    assert_eq!(one(".a // \"d\"", json!({"a": false})), json!("d"));
    assert_eq!(
        one(
            "walk(if type == \"number\" then . + 1 else . end)",
            json!([1, [2]])
        ),
        json!([2, [3]])
    );
    assert!(eval("1 / 0", json!(null)).is_err());
    assert_eq!(
        one("[5 % 2.5, -5 % 3, 5.9 % 2.1, 7 % -2]", json!(null)),
        json!([1, -2, 1, 1])
    );
    assert!(eval("5 % 0.5", json!(null)).is_err());
    assert_eq!(one(r#"strftime("%H:%M %Z")"#, json!(0)), json!("00:00 GMT"));
    assert_eq!(one(r#""a,b" / ",""#, json!(null)), json!(["a", "b"]));
}

#[test]
fn dates_follow_jq_18() {
    assert_eq!(
        one("fromdate", json!("2015-03-05T23:51:47Z")),
        json!(1425599507)
    );
    assert_eq!(
        one("todate", json!(1425599507)),
        json!("2015-03-05T23:51:47Z")
    );
    assert!(eval("fromdate", json!("2024-01-02T03:04:05.123Z")).is_err());
    assert_eq!(
        one(
            r#"strptime("%H:%M %Y-%m-%d") | mktime"#,
            json!("10:15 2015-03-05")
        ),
        json!(1425550500)
    );
    assert_eq!(
        one(r#"strftime("%A, %B %d, %Y")"#, json!(1425599507)),
        json!("Thursday, March 05, 2015")
    );
}

#[test]
fn deep_recursion_fails_instead_of_overflowing() {
    let err = eval("def f: 1 + f; f", json!(null)).unwrap_err();
    assert!(err.to_string().contains("recursion"), "{err}");
    // Bounded recursion still works.
    assert_eq!(
        one("def f: if . < 20 then . + 1 | f else . end; f", json!(0)),
        json!(20)
    );
}

#[test]
fn halt_is_an_error_not_an_exit() {
    let err = eval("halt", json!(null)).unwrap_err();
    assert!(err.to_string().contains("halt"), "{err}");
}

#[test]
fn too_deep_nesting_is_a_compile_error() {
    let expr = format!("{}1{}", "[".repeat(300), "]".repeat(300));
    assert!(matches!(
        JqEngine::default().compile(&expr),
        Err(JqError::Compile { .. })
    ));
}

#[test]
fn constant_programs_are_detected() {
    let engine = JqEngine::default();
    for c in [
        r#""jiraIssue""#,
        "true",
        "42",
        "-3.14",
        "[1, 2]",
        r#"{"a": 1}"#,
        r#""a" + "b""#,
        "null",
        "range(3)",
    ] {
        assert!(engine.compile(c).unwrap().is_constant(), "{c}");
    }
    for c in [
        ".a",
        r#""a" + .b"#,
        "[.a]",
        r#"{"k": .f}"#,
        "now",
        "env",
        "$ENV",
        "input_filename",
        ".",
        "length",
        "not",
        "ascii_downcase",
    ] {
        assert!(!engine.compile(c).unwrap().is_constant(), "{c}");
    }
}

#[test]
fn single_quote_rewrite_applies_before_compiling() {
    assert_eq!(
        one(
            ".organization + '/' + .repository",
            json!({"organization": "port", "repository": "ocean"})
        ),
        json!("port/ocean")
    );
    assert_eq!(
        one(".organization + '/'", json!({"organization": "port"})),
        json!("port/")
    );
    assert_eq!(
        one("'/' + .organization", json!({"organization": "port"})),
        json!("/port")
    );
}

#[test]
fn plain_paths_follow_jq_semantics() {
    assert_eq!(one(".a.b", json!({"a": null})), json!(null));
    assert_eq!(one(".a[1]", json!({"a": [1, 2]})), json!(2));
    assert_eq!(one(".a[-1]", json!({"a": [1, 2]})), json!(2));
    assert_eq!(one(".a[5]", json!({"a": [1, 2]})), json!(null));
    assert_eq!(one(r#"."x y""#, json!({"x y": 3})), json!(3));
    assert!(eval(".a.b", json!({"a": "s"})).is_err());
    assert_eq!(
        eval(".a.b?", json!({"a": "s"})).unwrap(),
        Vec::<Value>::new()
    );
    assert_eq!(one(".", json!({"a": 1})), json!({"a": 1}));
}

#[test]
fn constant_programs_give_all_their_outputs() {
    assert_eq!(eval("1, 2", json!(null)).unwrap(), vec![json!(1), json!(2)]);
}

#[test]
fn programs_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<JqProgram>();
    check::<JqEngine>();
}

#[test]
fn programs_reading_part_of_the_input_see_what_they_read() {
    let input =
        json!({"a": {"b": [1, 2], "c": "x"}, "i": 1, "k": "key", "v": 5, "s": "str", "n": null});
    let cases = [
        (".a.b[.i]", json!(2)),
        (".a.c + .k", json!("xkey")),
        ("{a: .v}", json!({"a": 5})),
        ("{(.k): .v}", json!({"key": 5})),
        ("{k}", json!({"k": "key"})),
        (".a | keys", json!(["b", "c"])),
        (".a.b | map(. * 2)", json!([2, 4])),
        ("reduce .a.b[] as $x (0; . + $x)", json!(3)),
        ("if .n then .k else .s end", json!("str")),
        (r#""\(.k)-\(.v)""#, json!("key-5")),
        (".a.b as [$x] | .v + $x", json!(6)),
        (".s.x?", json!(null)),
        ("[.[]] | length", json!(6)),
        ("keys", json!(["a", "i", "k", "n", "s", "v"])),
        (". as $all | $all.v", json!(5)),
        ("try (.s | tonumber) catch .", json!(null)),
    ];
    for (expr, expected) in cases {
        let out = eval(expr, input.clone()).unwrap_or_else(|e| panic!("{expr}: {e}"));
        if expr == ".s.x?" {
            assert!(out.is_empty(), "{expr}: {out:?}");
            continue;
        }
        if expr.starts_with("try") {
            assert_eq!(out.len(), 1, "{expr}");
            continue;
        }
        assert_eq!(out, vec![expected], "{expr}");
    }
}

#[test]
fn updates_create_structure_under_null_as_jq_does() {
    assert_eq!(one(".b = 1 | .a = 2", json!(null)), json!({"b": 1, "a": 2}));
    assert_eq!(one(".a[2] = 1", json!(null)), json!({"a": [null, null, 1]}));
    assert_eq!(one(".a.b |= . + 1", json!({})), json!({"a": {"b": 1}}));
    assert_eq!(one(".a += 1", json!(null)), json!({"a": 1}));
    assert_eq!(one(".a //= 3", json!({"a": false})), json!({"a": 3}));
    assert_eq!(one(".a /= 2", json!({"a": 3})), json!({"a": 1.5}));
    assert_eq!(
        one("(.[] | select(. > 1)) |= empty", json!([1, 2, 3, 4])),
        json!([1])
    );
    assert_eq!(
        eval(".a = (1, 2)", json!({})).unwrap(),
        vec![json!({"a": 1}), json!({"a": 2})]
    );
    assert!(eval(".[-1] = 5", json!([])).is_err());
}

#[test]
fn deletion_and_pick_follow_jq_paths() {
    assert_eq!(
        one("del(.[0, 2])", json!(["a", "b", "c", "d"])),
        json!(["b", "d"])
    );
    assert_eq!(one("del(.[0], .[1:])", json!([1, 2, 3])), json!([]));
    assert_eq!(one("del(.a)", json!(null)), json!(null));
    assert_eq!(one("pick(.[1])", json!([1, 2, 3])), json!([null, 2]));
    assert_eq!(
        one("{$__loc__}", json!(null)),
        json!({"__loc__": {"file": "<top-level>", "line": 1}})
    );
}

#[test]
fn numbers_print_and_come_back_as_jq_1_8_gives_them() {
    assert_eq!(one("1e17", json!(null)), json!(100_000_000_000_000_000u64));
    assert_eq!(
        one("1e19", json!(null)),
        json!(10_000_000_000_000_000_000u64)
    );
    assert_eq!(one("1e17 | tostring", json!(null)), json!("1E+17"));
    assert_eq!(one("1e17 | . + 0 | tostring", json!(null)), json!("1e+17"));
    assert_eq!(
        one("0.00001 | . + 0 | tostring", json!(null)),
        json!("1e-05")
    );
    assert_eq!(
        one(". + 0", json!(9_007_199_254_740_993u64)),
        json!(9_007_199_254_740_992u64)
    );
    assert_eq!(
        one("tostring", json!(9_007_199_254_740_993u64)),
        json!("9007199254740993")
    );
    assert_eq!(one("tonumber | tostring", json!("1.50")), json!("1.50"));
    assert!(eval("tonumber", json!(" 42")).is_err());
    assert!(eval("tonumber", json!("")).is_err());
    assert_eq!(one(". * 0", json!("ab")), json!(""));
    assert_eq!(one(".[1.7]", json!([10, 20, 30])), json!(20));
    assert_eq!(one(".[1.2:2.5]", json!([0, 1, 2, 3])), json!([1, 2]));
    assert!(eval("{(1): 2}", json!(null)).is_err());
    assert!(eval(r#"{"blue": 1}[.color]"#, json!({})).is_err());
}

#[test]
fn regexes_use_oniguruma_features_and_jq_match_objects() {
    assert_eq!(
        one(
            r#"gsub("\\](?=[^$])"; "-") | gsub("\\]$"; "")"#,
            json!("octo[cat]")
        ),
        json!("octo[cat")
    );
    assert_eq!(one(r#"test("(a)\\1")"#, json!("xaay")), json!(true));
    assert_eq!(one(r#"test(["B", "i"])"#, json!("abc")), json!(true));
    assert_eq!(
        one(r#"capture("(?<a>x)?(?<b>y)")"#, json!("y")),
        json!({"a": null, "b": "y"})
    );
    assert_eq!(
        eval(r#"[gsub("a"; "1", "2")]"#, json!("aba")).unwrap(),
        vec![json!(["1b1", "2b2"])]
    );
    assert_eq!(
        one(r#"[splits(", *")]"#, json!("a, b,c")),
        json!(["a", "b", "c"])
    );
    assert_eq!(
        one(r#"sub("(?<x>a)"; "\(.x)!")"#, json!("aba")),
        json!("a!ba")
    );
}

/// The first output, as a mapping field takes it (the path that gives jaq only the parts of the
/// item the program reads).
fn first(expr: &str, input: &Value) -> Value {
    let program = JqEngine::default()
        .compile(expr)
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    let out = program
        .first_on(&JqInput::new(input))
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    out.unwrap_or_else(|| panic!("{expr} gave no output"))
}

/// Every program here yields the input itself on some path; the item is wide (fields no
/// expression names) so that a program that only sees the fields it reads gives itself away.
#[test]
fn a_result_that_is_the_input_is_the_whole_item() {
    let item = json!({
        "kind": "service",
        "owner": {"team": "core", "oncall": ["ana", "bo"]},
        "tags": ["x"],
        "unread": {"deep": [1, 2.5, null]},
        "flag": false
    });
    let whole = [
        "if .flag then .kind end",
        "if .flag then .kind elif .missing then .owner end",
        ".missing // .",
        "select(.kind == \"service\")",
        "(.)",
        "try error catch .",
        ".kind as $k | if $k == \"x\" then 1 end",
        "reduce .tags[] as $t (.; .)",
        "[.kind, .] | .[1]",
        ". as {kind: $k} | .",
        "first(.)",
        "if .flag then 1 else . end",
    ];
    for expr in whole {
        assert_eq!(first(expr, &item), item, "{expr}");
    }
}

#[test]
fn a_computed_key_in_a_pattern_reads_the_destructured_value() {
    let item = json!({"k": "team", "owner": {"team": 1, "k": "oncall", "oncall": 2}, "x": 0});
    assert_eq!(first(".owner as {(.k): $v} | $v", &item), json!(2));
}

#[test]
fn error_without_argument_raises_the_whole_item() {
    let item = json!({"a": 1, "b": {"c": [true]}});
    assert_eq!(first("try (.a | error) catch .", &item), json!(1));
    assert_eq!(first("try error catch .", &item), item);
}

#[test]
fn destructuring_alternatives_try_each_pattern_in_turn() {
    // The first pattern that binds without an error wins; unbound variables are null.
    assert_eq!(
        one(
            "[.[] as [$a] ?// {k: $a} ?// $a | $a]",
            json!([[1], {"k": 2}, 3])
        ),
        json!([1, 2, 3])
    );
    assert_eq!(
        one(". as [$a] ?// {$b} | [$a, $b]", json!({"b": "x"})),
        json!([null, "x"])
    );
    // An error in the body moves on to the next pattern; the last one's error is the result.
    assert_eq!(
        one(
            ". as [$a] ?// $b | if $a != null then error(\"no\") else $b end",
            json!([7])
        ),
        json!([7])
    );
    assert!(eval(". as [$a] ?// [$b] | error(\"last\")", json!([1])).is_err());
    // Inside a definition, a condition and a collection the body ends where jq ends it.
    assert_eq!(
        one("def f: . as [$x] ?// $x | $x; [.[] | f]", json!([[5], 6])),
        json!([5, 6])
    );
    assert_eq!(
        one(
            "if . as [$x] ?// $x | $x == 1 then \"one\" else \"other\" end",
            json!([1])
        ),
        json!("one")
    );
}

#[test]
fn builtins_follow_jq_1_8_on_edge_inputs() {
    // `flatten` with a depth keeps an empty array empty; it flattens object values and refuses
    // scalars.
    assert_eq!(one("flatten(1)", json!([])), json!([]));
    assert_eq!(one("flatten(0)", json!([[1], 2])), json!([[1], 2]));
    assert_eq!(one("flatten", json!({"a": [1]})), json!([1]));
    assert!(eval("flatten", json!(5)).is_err());
    // `has` on arrays takes non-negative indices only; on null it is false.
    assert_eq!(one("has(-1)", json!([1, 2])), json!(false));
    assert_eq!(one("has(\"a\")", Value::Null), json!(false));
    assert!(eval("has(0)", json!({"0": 1})).is_err());
    // Counts and bounds are checked as jq checks them.
    assert!(eval("[skip(-1; 1, 2)]", Value::Null).is_err());
    assert!(eval("[range(\"a\")]", Value::Null).is_err());
    assert_eq!(one("[range(0; 3; 0)]", Value::Null), json!([]));
    assert_eq!(one("[combinations]", Value::Null), json!([[]]));
    assert!(eval("toboolean", json!("")).is_err());
    assert!(eval("fromjson", json!("")).is_err());
    assert_eq!(one("format(\"csv\")", json!([1, "a"])), json!("1,\"a\""));
    assert_eq!(
        one(
            "[1 | truncate_stream([[0], 1], [[1, 0], 2], [[1, 0]], [[1]])]",
            Value::Null
        ),
        json!([[[0], 2], [[0]]])
    );
}

#[test]
fn an_expression_with_too_many_operators_is_a_compile_error_naming_the_limit() {
    let engine = JqEngine::default();
    let long = "true and ".repeat(super::MAX_OPERATORS + 1) + "true";
    let error = engine
        .compile(&long)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("operators, more than the"), "{error}");
}

#[test]
fn operators_inside_blocks_count_and_strings_do_not() {
    let engine = JqEngine::default();
    let nested = format!("[{}]", ".a + ".repeat(super::MAX_OPERATORS + 1) + ".a");
    assert!(engine.compile(&nested).is_err());
    let text = format!("\"{}\"", "a + ".repeat(super::MAX_OPERATORS * 2));
    assert!(engine.compile(&text).is_ok());
}

#[test]
fn a_chain_just_under_the_operator_limit_compiles() {
    let engine = JqEngine::default();
    let fine = "true and ".repeat(super::MAX_OPERATORS) + "true";
    assert!(engine.compile(&fine).is_ok());
}
