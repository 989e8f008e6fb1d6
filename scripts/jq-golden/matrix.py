"""The builtin and syntax matrix of the jq 1.8 differential corpus.

Every program below runs on every input of `INPUTS` (values of every JSON type) and on the
literals of `LITERAL_INPUTS` (numbers JSON input cannot carry exactly, written into the program
as `LITERAL | PROGRAM`). `generate.py` records what jq 1.8.2 does with each pair.

`BUILTIN_CALLS` has an entry for every builtin that `builtins` lists in jq 1.8.2 (name/arity);
`generate.py` refuses to run when jq lists one without an entry here, so a new builtin cannot
be forgotten. `SYNTAX` covers every syntax form of the jq 1.8 manual.

Programs that could run forever or allocate without bound on some input (`range(.)` on 1e17,
`repeat`, `recurse(f)`) are wrapped in `limit`; programs whose result depends on the clock, the
environment or the build are reduced to their type.
"""

from __future__ import annotations

# JSON texts, one value of every kind: null, booleans, numbers (zero, negative, fractional,
# integral float, large; not beyond 2^53, which jq.py rounds on the way in and out, see
# docs/jq-compatibility.md), strings (empty, ASCII, unicode, numeric, dates, JSON
# text, base64), arrays (empty, flat, nested, mixed, of objects) and objects (empty, nested).
INPUTS: list[str] = [
    "null",
    "true",
    "false",
    "0",
    "1",
    "-1",
    "3.7",
    "-2.5",
    "1.0",
    "1e17",
    '""',
    '"abc"',
    '"a,b, cA"',
    '"héllo wörld ☃ 😀"',
    '"  padded\\t "',
    '"123"',
    '"-1.5e3"',
    '"2015-03-05T23:51:47Z"',
    '"[1,{\\"a\\":2}]"',
    '"aGVsbG8="',
    "[]",
    "[1,2,3]",
    "[3,1,null,\"a\",[1],{\"a\":1},true,1.5]",
    "[[1,[2,[3]]],4,[]]",
    '["a","ab","b","a"]',
    '[{"a":1,"b":"x"},{"a":0,"b":"y"},{"a":1,"b":"z"}]',
    "{}",
    '{"a":1,"b":[1,2]}',
    '{"b":{"c":null,"d":[true]},"a":"x"}',
]

# Numbers a JSON input cannot carry exactly (serde_json would round or refuse them), given as
# literals in front of the program.
LITERAL_INPUTS: list[str] = ["1e1000", "-1e1000", "100000000000000000000", "-0"]


def _unary(*names: str) -> dict[str, list[str]]:
    return {f"{name}/0": [name] for name in names}


def _binary_math(*names: str) -> dict[str, list[str]]:
    return {f"{name}/2": [f"{name}(.; 2)", f"{name}(2; .)"] for name in names}


# Every builtin of jq 1.8.2 (`builtins`), with the calls that exercise it.
BUILTIN_CALLS: dict[str, list[str]] = {
    **_unary(
        "max", "min", "unique", "sort", "isnormal", "isnan", "isinfinite", "type",
        "utf8bytelength", "length", "rtrim", "ltrim", "trim", "implode", "explode",
        "keys_unsorted", "keys", "tostring", "toboolean", "tonumber", "fromjson", "tojson",
        "lgamma_r", "frexp", "modf", "trunc", "significand", "round", "rint", "nearbyint",
        "logb", "log1p", "lgamma", "gamma", "fabs", "expm1", "exp10", "erfc", "erf", "ceil",
        "y1", "y0", "tgamma", "tanh", "tan", "sqrt", "sinh", "sin", "log2", "log10", "log",
        "j1", "j0", "floor", "exp2", "exp", "cosh", "cos", "cbrt", "atanh", "atan", "asinh",
        "asin", "acosh", "acos", "not", "abs", "to_entries", "from_entries", "reverse",
        "isfinite", "arrays", "objects", "iterables", "booleans", "numbers", "normals",
        "finites", "strings", "nulls", "values", "scalars", "fromdateiso8601",
        "todateiso8601", "fromdate", "todate", "first", "last", "transpose",
        "ascii_downcase", "ascii_upcase", "have_literal_numbers", "have_decnum", "gmtime",
        "mktime", "add", "any", "all", "input_filename", "get_search_list",
        "get_jq_origin", "get_prog_origin", "debug", "stderr", "halt", "halt_error",
    ),
    "input_line_number/0": ["input_line_number"],
    "now/0": ["now | type"],
    "localtime/0": ["localtime | type"],
    "env/0": ["env | type"],
    "builtins/0": ["builtins | type", "[builtins | select(. == \"map/1\")]"],
    "input/0": ["input", "try input catch \"none\""],
    "inputs/0": ["[inputs]"],
    "modulemeta/0": ["modulemeta"],
    "empty/0": ["empty", "[empty]"],
    "error/0": ["error", "try error catch ."],
    "nan/0": ["nan", "[nan] | tostring", "nan < 1"],
    "infinite/0": ["infinite", "-infinite", "infinite | tostring"],
    "recurse/0": ["[recurse]"],
    "paths/0": ["[paths]"],
    "flatten/0": ["flatten"],
    "combinations/0": ["[combinations]"],
    "tostream/0": ["[tostream]"],
    "strftime/1": ["strftime(\"%Y-%m-%dT%H:%M:%SZ\")", "strftime(\"%A, %B %d, %Y %j\")"],
    "strflocaltime/1": ["strflocaltime(\"%Y\") | type"],
    "strptime/1": ["strptime(\"%Y-%m-%dT%H:%M:%SZ\")", "strptime(\"%Y\")"],
    "halt_error/1": ["halt_error(1)"],
    "format/1": [
        f"format(\"{f}\")"
        for f in ("text", "json", "csv", "tsv", "html", "uri", "sh", "base64", "base64d", "base32")
    ],
    "bsearch/1": ["bsearch(1)", "bsearch(0)", "bsearch(\"a\")"],
    "contains/1": ["contains(\"b\")", "contains([1])", "contains({\"a\": 1})", "contains(null)"],
    "has/1": ["has(\"a\")", "has(0)", "has(-1)"],
    "delpaths/1": ["delpaths([[\"a\"]])", "delpaths([[0]])", "delpaths([[]])", "delpaths([])"],
    "getpath/1": ["getpath([\"a\"])", "getpath([0])", "getpath([\"a\", \"b\"])", "getpath([])"],
    "setpath/2": ["setpath([\"a\"]; 1)", "setpath([0]; 1)", "setpath([]; 1)", "setpath([-1]; 1)"],
    "split/1": ["split(\",\")", "split(\"\")", "split(\", \")"],
    "split/2": ["split(\", *\"; null)", "split(\"a\"; \"g\")", "split(\"B\"; \"i\")"],
    "endswith/1": ["endswith(\"c\")", "endswith(1)"],
    "startswith/1": ["startswith(\"a\")", "startswith(1)"],
    "ltrimstr/1": ["ltrimstr(\"a\")", "ltrimstr(1)"],
    "rtrimstr/1": ["rtrimstr(\"c\")", "rtrimstr(1)"],
    "trimstr/1": ["trimstr(\"a\")", "trimstr(1)"],
    "join/1": ["join(\",\")", "join(\"\")", "join(1)"],
    **_binary_math(
        "ldexp", "scalbln", "scalb", "nexttoward", "nextafter", "fmod", "fmin", "fmax",
        "fdim", "drem", "copysign", "remainder", "pow", "hypot", "atan2",
    ),
    "yn/2": ["yn(1; .)"],
    "jn/2": ["jn(1; .)"],
    "fma/3": ["fma(.; 2; 1)"],
    "path/1": ["[path(..)]", "path(.a)", "path(.[0])", "[path(.a[]?.b?)]", "path(1)"],
    "last/1": ["last(.[]?)", "[last(empty)]"],
    "first/1": ["first(.[]?)", "[first(empty)]"],
    "range/1": ["[limit(5; range(.))]", "[range(3)]"],
    "range/2": ["[limit(5; range(0; .))]", "[limit(5; range(.; 3))]", "[range(1; 0)]"],
    "range/3": ["[limit(5; range(0; 10; .))]", "[range(0; 1; 0.25)]", "[limit(3; range(5; 0; -2))]"],
    "error/1": [
        "error(\"x\")", "try error(\"x\") catch .", "try error(.) catch .",
        "try error(null) catch .", "try error({\"a\": 1}) catch .a",
    ],
    "map/1": ["map(. + 1)", "map(tostring)", "map(.)"],
    "select/1": ["select(.)", "select(. == 1)", "[.[]? | select(type == \"string\")]"],
    "sort_by/1": ["sort_by(.a)", "sort_by(-.)", "sort_by(.a, .b)"],
    "group_by/1": ["group_by(.a)", "group_by(type)"],
    "unique_by/1": ["unique_by(length)", "unique_by(.a)"],
    "max_by/1": ["max_by(.a)", "max_by(length)"],
    "min_by/1": ["min_by(.a)", "min_by(length)"],
    "add/1": ["add(.[]?)", "add(.a, .b)", "add(empty)"],
    "del/1": ["del(.a)", "del(.[0])", "del(.[])", "del(.a, .b)", "del(.[1:])", "del(.)"],
    "map_values/1": ["map_values(. + 1)", "map_values(empty)", "map_values(tostring)"],
    "recurse/1": ["[recurse(.[]?)]", "[limit(6; recurse(. + 1))]"],
    "recurse/2": ["[limit(6; recurse(. * 2; . < 20))]"],
    "with_entries/1": ["with_entries(.value |= tostring)", "with_entries(select(.key != \"a\"))"],
    "indices/1": ["indices(1)", "indices(\",\")", "indices([1, 2])"],
    "index/1": ["index(\",\")", "index(1)", "index(\"b\")"],
    "rindex/1": ["rindex(\",\")", "rindex(1)", "rindex(\"b\")"],
    "paths/1": ["[paths(type == \"number\")]"],
    "flatten/1": ["flatten(0)", "flatten(1)", "flatten(-1)", "flatten(2)"],
    "match/1": ["match(\"(?<x>a)\")", "[match(\"\"; \"g\") | .offset]"],
    "match/2": ["[match(\"a|b\"; \"g\") | .offset]", "match(\"A\"; \"i\")"],
    "test/1": ["test(\"a\")", "test(\"\")"],
    "test/2": ["test(\"A\"; \"i\")", "test(\"a b\"; \"x\")", "test(\"a\"; \"gn\")"],
    "capture/1": ["capture(\"(?<x>[a-z]+)\")", "capture(\"(?<x>a)(?<y>z)?\")"],
    "capture/2": ["[capture(\"(?<x>[a-z])\"; \"g\")]"],
    "scan/1": ["[scan(\"[a-z]\")]", "[scan(\"(a)(b)?\")]"],
    "scan/2": ["[scan(\"A\"; \"i\")]"],
    "splits/1": ["[splits(\", *\")]"],
    "splits/2": ["[splits(\"a\"; \"gi\")]", "[splits(\"\"; null)]"],
    "sub/2": ["sub(\"a\"; \"X\")", "sub(\"(?<x>a)\"; \"<\\(.x)>\")", "sub(\"^\"; \">\")"],
    "sub/3": ["sub(\"a\"; \"b\"; \"g\")", "[sub(\"(?<x>a)\"; \"1\", \"2\")]"],
    "gsub/2": ["gsub(\"[aeiou]\"; \"_\")", "gsub(\"\"; \"-\")", "gsub(\"\\\\s+\"; \" \")"],
    "gsub/3": ["gsub(\"A\"; \"x\"; \"i\")"],
    "while/2": ["[limit(10; while(. < 5; . + 1))]", "[limit(10; while(length > 0; .[1:]))]"],
    "until/2": ["until(. > 5 or . < -100; . + 2)"],
    "limit/2": ["[limit(2; .[]?)]", "[limit(0; .[]?)]", "[limit(-1; .[]?)]", "[limit(3; repeat(1))]"],
    "skip/2": ["[skip(1; .[]?)]", "[skip(0; .[]?)]", "[skip(-1; .[]?)]"],
    "isempty/1": ["isempty(empty)", "isempty(.[]?)", "isempty(1, error(\"x\"))"],
    "all/2": ["all(.[]?; . == 1)", "all(empty; .)", "all(false, error(\"x\"); .)"],
    "any/2": ["any(.[]?; . == 1)", "any(empty; .)", "any(true, error(\"x\"); .)"],
    "all/1": ["all(type == \"number\")"],
    "any/1": ["any(. == 1)"],
    "nth/1": ["nth(1)", "nth(-1)"],
    "nth/2": ["nth(1; .[]?)", "nth(-1; .[]?)", "[nth(5; .[]?)]"],
    "combinations/1": ["[combinations(2)]"],
    "in/1": ["in({\"a\": 1})", "in([0, 1])"],
    "inside/1": ["inside(\"abc\")", "inside([1, 2, 3])", "inside({\"a\": 1, \"b\": [1, 2]})"],
    "repeat/1": ["[limit(3; repeat(.))]"],
    "truncate_stream/1": [". as $v | [1 | truncate_stream($v | tostream)]"],
    "fromstream/1": ["fromstream(tostream)", "[fromstream(.[]? | tostream)]"],
    "walk/1": [
        "walk(if type == \"number\" then . + 1 else . end)",
        "walk(.)",
        "walk(if type == \"array\" then sort else . end)",
    ],
    "pick/1": ["pick(.a)", "pick(.[1])", "pick(.a.b)", "pick(.[0], .a)"],
    "debug/1": ["debug(\"msg\")"],
    "INDEX/1": ["INDEX(.a)"],
    "INDEX/2": ["INDEX(.[]?; .a)"],
    "JOIN/2": ["JOIN({\"1\": \"x\"}; tostring)"],
    "JOIN/3": ["[JOIN({\"1\": \"x\"}; .[]?; tostring)]"],
    "JOIN/4": ["[JOIN({\"1\": \"x\"}; .[]?; tostring; add)]"],
    "IN/1": ["IN(1, 2)"],
    "IN/2": ["IN(.[]?; 1, 2)"],
    "ascii/0": ["ascii"],
    "toarray/0": ["toarray"],
    "leaf_paths/0": ["[leaf_paths]"],
    "getpath_paths/0": ["[paths as $p | getpath($p)]"],
}

# Every syntax form of the jq 1.8 manual (and the edges users hit), on the same inputs.
SYNTAX: list[str] = [
    # paths and indexing
    ".", "..", "[..]", ".a", ".a?", ".\"a\"", ".[\"a\"]", ".[\"a\"]?", ".a.b", ".a.b?",
    ".a?.b?", ".[0]", ".[-1]", ".[1.7]", ".[1:]", ".[:-1]", ".[1:2]", ".[-2:]", ".[:1.5]",
    ".[]", ".[]?", "[.[]?]", ".a[]?", ".a[0]?", "(.)", "(.a)", "..?", ".[null]?",
    # comma, pipe, parentheses
    ".a, .b", ".a | .b", "(1, 2) | . * 3", "[.[]?, .a?]",
    # construction
    "[.]", "[]", "{}", "{a: 1}", "{a}", "{\"a b\": .}", "{(tojson): 1}", "{$__loc__}",
    "{a: .[]?}", "{\"x\\(1)\": 2}", "{a: (1, 2)}", ". as $x | {$x}", "{\"a\": 1} + {\"a\": 2, \"b\": 3}",
    # arithmetic
    ". + 1", ". - 1", ". * 2", ". / 2", ". % 2", "-(.)", ". + .", ". - .", ". * .", ". / .",
    ". % .", ". + null", "null + .", ". + \"x\"", ". + [1]", ". + {\"z\": 1}", ". - [1]",
    ". * {\"a\": {\"z\": 1}}", ". / \",\"", ". % 0", ". / 0", "\"ab\" * 0", "\"ab\" * 2.5",
    "1 / 3", "0.1 + 0.2", "5 % -2", "-5 % 2", "5.5 % 2", "1e1000 % 2",
    # comparison and logic
    ". == 1", ". != null", ". < 1", ". <= \"a\"", ". > []", ". >= {}",
    "[. < null, . < false, . < 0, . < \"\", . < [], . < {}]", ". == 1.0", ". and true",
    ". or false", "not", "(true, false) and (true, false)", "[.[]? | not]",
    # alternatives
    ". // \"d\"", ".a // \"d\"", ".[]? // \"d\"", "(false, null, 1) // 2", "[empty // 1]",
    "(false, null) // (3, 4)", ".a // .", "try (error(\"x\") // 1) catch \"caught\"",
    # conditionals
    "if . then \"t\" else \"f\" end", "if . then \"t\" end", "if .a? then .a end",
    "if . == 1 then \"one\" elif . == null then \"null\" else \"other\" end",
    "[if (true, false) then 1 else 2 end]", "[if empty then 1 else 2 end]",
    "if . == null then . else . end", "if .a == 1 then \"one\" end", "if .missing then 1 end",
    "[.[]? | if . == 1 then \"one\" end]", "select(.a != null)", ".missing // .", "first(.)",
    "try error catch .", "try (.a | error) catch .", ". as {a: $x} | .",
    # try, catch, optional
    "try error(\"x\") catch .", "try .a catch \"c\"", "[.[]? | tonumber?]",
    "[try (1, error(\"x\"), 3) catch .]", "try error catch type", "(.a)?", "try .a",
    "[.[]? | try tonumber catch \"bad\"]", "try (try error(\"x\") catch error(\"y\")) catch .",
    "error(\"x\")?", "[.[]?]?",
    # reduce and foreach
    "reduce .[]? as $x (0; . + 1)", "reduce .[]? as $x (null; . + $x)",
    "[foreach .[]? as $x (0; . + 1)]", "[foreach .[]? as $x (0; . + 1; [$x, .])]",
    "reduce empty as $x (.; 1)", "[foreach range(5) as $x (0; . + $x; select(. > 3))]",
    "reduce .[]? as [$a, $b] (0; . + 1)", "reduce range(3) as $x (.; [.])",
    "[foreach .[]? as {a: $a} (0; . + 1; $a)]",
    # variables and destructuring
    ". as $x | [$x, $x]", ". as [$a, $b] | {a: $a, b: $b}", ". as {a: $a} | $a",
    ". as {$a, $b} | [$a, $b]", ". as {\"a\": $x} | $x", ". as {(\"a\"): $x} | $x",
    ". as {$b: [$c]} | [$b, $c]", "[[1, 2], [3]] as [[$a], $b] | [$a, $b]",
    ". as [$a] ?// $a | $a", "[.[]? as [$a] ?// $a | $a]",
    ". as {a: $x} ?// [$x] ?// $x | [$x]",
    "[[1, 2], 3] | .[] as [$a] ?// $a | if ($a | type) == \"array\" then error(\"arr\") else $a end",
    ". as [$a, $b, {c: $c}] ?// {a: $a} | [$a, $b, $c]",
    "[.[]? as {a: $a} ?// [$a] | $a]",
    # label and break
    "[label $out | .[]? | if . == 2 then break $out else . end]",
    "[label $f | range(10) | ., (select(. == 3) | break $f)]",
    "[label $a | label $b | 1, break $a, 2]",
    # definitions and recursion
    "def f: [.]; f", "def f(g): [g, g]; f(.)", "def f($a): [$a, .]; f(1)",
    "def fac: if . <= 1 then 1 else . * (. - 1 | fac) end; 5 | fac",
    "def f: def g: 3; g * 2; f", "def f(a; $b): [a, $b]; f(.; 2)",
    # strings and formats
    "\"\\(.)\"", "\"x\\(.)y\\(1 + 2)\"", "@json \"v=\\(.)\"", "@base64 \"\\(.)\"",
    "@uri \"https://x/?q=\\(.)\"", "@sh \"echo \\(.)\"", "@html \"<b>\\(.)</b>\"",
    "@csv \"\\([.])\"", "@text", "@json", "@csv", "@tsv", "@sh", "@base64", "@base64d",
    "@base32", "@base32d", "@uri", "@urid", "@html", "\"\\u00e9\\ud83d\\ude00\"",
    "\"a\" + \"b\" * 2", "[65, 128512] | implode", "[1114112] | implode",
    "tojson | fromjson", "tostring | tojson", "[tostring, tojson]",
    # assignment and update
    ".a = 1", ".a |= 1", ".[0] = 1", ".a += 1", ".a -= 1", ".a *= 2", ".a /= 2", ".a %= 2",
    ".a //= 3", ".[]? |= 1", ".a.b |= 1", ".[2] = 1", "(.a, .b) = 9", "[.a = (1, 2)]",
    ".[]? += 1", "getpath([\"a\"]) |= 5", ".. |= .", "to_entries | from_entries",
    ".a |= empty", ".[0] |= empty", "(.. | select(type == \"number\")) |= . + 1",
    ".[1:] = [\"x\"]", ".[1:] |= map(1)",
    # special variables and misc
    "$__loc__", "$ENV | type", "env | type", "[limit(0; 1, 2)]", "[limit(1; 1, error(\"x\"))]",
    "[.[]?] | length", "[paths] | length", "tostream", "input_line_number",
    "[splits(\", \")]", "ltrimstr(\"a\") | type", "tostring | length",
    "[1, 1.0, 1.5, 100, 1e3, 1.10] | map(tostring)", "1.000", "-0",
    "[.[]?] | add", "[.[]?] | any", "[.[]?] | all", "add(.[]?)",
    "any(.[]?; .)", "all(.[]?; .)", "getpath([\"a\", 0, \"b\"])", "[getpath([\"a\"], [\"b\"])]",
    "[paths(..)]", "flatten(0) == .", "[] | flatten(-1)", "[] | flatten(1)",
    "{} | keys", "[splits(\"\")]", "ascii_downcase | explode | implode",
]


def programs() -> list[tuple[str, str]]:
    """Every program of the matrix with the group it belongs to (a builtin or `syntax`)."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for builtin, calls in BUILTIN_CALLS.items():
        for call in calls:
            if call not in seen:
                seen.add(call)
                out.append((builtin, call))
    for program in SYNTAX:
        if program not in seen:
            seen.add(program)
            out.append(("syntax", program))
    return out
