# jq 1.8 compatibility definitions, loaded after jaq's standard library so that they shadow it.

# Text conversion with jq 1.8 number formatting (10 / 2 prints as 5).
def tostring: __ocean_tostring;
def tojson: __ocean_tojson;
def @text: __ocean_tostring;
def @json: __ocean_tojson;
def @html: __ocean_tostring | escape_html;
def @uri: __ocean_tostring | encode_uri;
def @base64: __ocean_tostring | encode_base64;
def @base64d: __ocean_tostring | __ocean_base64d;
def @csv: __ocean_csv;
def @tsv: __ocean_tsv;
def @sh: __ocean_sh;

# jq 1.8 joins nulls as empty strings and refuses arrays and objects.
def join($x): __ocean_join($x);
def split($sep): __ocean_split($sep);
def type: __ocean_type;

# jq 1.8 refuses a negative count.
def __ocean_limit($n; f): limit($n; f);
def limit($n; f): if $n < 0 then error("limit doesn't support negative count") else __ocean_limit($n; f) end;

# jq 1.8 divides by zero with an error, not Infinity.
def __ocean_div(l; r): r as $r | l as $l |
  if ($r | type) == "number" and ($l | type) == "number" and $r == 0
  then error(($l | __ocean_tostring) + " and " + ($r | __ocean_tostring) + " cannot be divided because the divisor is zero")
  else $l / $r end;

# jq 1.8 takes the remainder of the operands truncated to integers.
def __ocean_trunc: if . < 0 then -(-(.) | floor) else floor end;
def __ocean_rem(l; r): r as $r | l as $l |
  if ($l | type) == "number" and ($r | type) == "number" then
    ($l | __ocean_trunc) as $a | ($r | __ocean_trunc) as $b |
    if $b == 0
    then error("number (" + ($l | __ocean_tostring) + ") and number (" + ($r | __ocean_tostring) + ") cannot be divided (remainder) because the divisor is zero")
    else $a % $b end
  else $l % $r end;

# jq 1.8 walks bottom-up.
def walk(f): def w: if type == "object" then map_values(w) elif type == "array" then map(w) else . end | f; w;

def IN(s): any(s == .; .);
def IN(src; s): any(src == s; .);
def INDEX(stream; idx_expr): reduce stream as $row ({}; .[$row | idx_expr | __ocean_tostring] |= $row);
def INDEX(idx_expr): INDEX(.[]; idx_expr);
def trimstr($x): ltrimstr($x) | rtrimstr($x);
def have_decnum: true;
def have_literal_numbers: true;
def input_filename: null;
# Rebuilds values from `tostream` events: `[path, leaf]` sets a leaf, `[path]` closes a container,
# and a value is complete when an event's path is top-level.
def fromstream(events):
  foreach events as $ev ([null, false];
    (if .[1] then null else .[0] end) as $partial
    | ($ev[0] | length) as $depth
    | if ($ev | length) == 2 then [($partial | __ocean_setpath($ev[0]; $ev[1])), $depth == 0]
      else [$partial, $depth == 1] end;
    if .[1] then .[0] else empty end);
def tostream: path(def r: (.[]? | r), .; r) as $p | getpath($p) | reduce path(.[]?) as $q ([$p, .]; [$p + $q]);

# Times are UTC, which jq 1.8 names GMT.
def __ocean_strftime($f): strftime($f);
def strftime($f): __ocean_strftime(if ($f | type) == "string" then $f | __ocean_split("%Z") | __ocean_join("GMT") else $f end);

# jq 1.8 accepts only whole seconds with a Z suffix.
def fromdateiso8601: strptime("%Y-%m-%dT%H:%M:%SZ") | mktime;
def todateiso8601: strftime("%Y-%m-%dT%H:%M:%SZ");
def fromdate: fromdateiso8601;
def todate: todateiso8601;

# Numbers: jq 1.8 parses only whole decimal literals, and computes math with the C library.
def tonumber: __ocean_tonumber;
def __ocean_jaq_fromjson: fromjson;
def fromjson:
  if __ocean_nan_text then nan
  elif type == "string" and (ltrimstr(" ") | ltrimstr("\n") | ltrimstr("\t")) == "" then error("Expected JSON value (while parsing '\(.)')")
  elif __ocean_json_depth_ok then __ocean_jaq_fromjson
  else error("Exceeds depth limit for parsing") end;
def sqrt: __ocean_m_sqrt;
def exp: __ocean_m_exp;
def exp2: __ocean_m_exp2;
def exp10: __ocean_m_exp10;
def log: __ocean_m_log;
def log2: __ocean_m_log2;
def log10: __ocean_m_log10;
def log1p: __ocean_m_log1p;
def expm1: __ocean_m_expm1;
def cbrt: __ocean_m_cbrt;
def sin: __ocean_m_sin;
def cos: __ocean_m_cos;
def tan: __ocean_m_tan;
def asin: __ocean_m_asin;
def acos: __ocean_m_acos;
def atan: __ocean_m_atan;
def sinh: __ocean_m_sinh;
def cosh: __ocean_m_cosh;
def tanh: __ocean_m_tanh;
def asinh: __ocean_m_asinh;
def acosh: __ocean_m_acosh;
def atanh: __ocean_m_atanh;
def pow($x; $y): __ocean_pow($x; $y);
def __ocean_mul_op(l; r): r as $r | l as $l | $l | __ocean_mul($r);

# Paths with jq 1.8 semantics: structure is created under null, arrays are padded, and
# deletions run from the last path to the first.
def getpath($p): reduce $p[] as $k (.; .[$k | __ocean_key]);
def setpath($p; $v): __ocean_setpath($p; $v);
def delpaths($ps): __ocean_delpaths($ps);
def del(f): __ocean_delpaths([path(f)]);
def pick(f): . as $in | reduce path(f) as $p (null; __ocean_setpath($p; $in | __ocean_getpath($p)));
def __ocean_assign(paths; $v): reduce path(paths) as $p (.; __ocean_setpath($p; $v));
def __ocean_modify(paths; update):
  reduce path(paths) as $p ([., []];
    . as [$root, $dels]
    | [$root | __ocean_getpath($p) | first(update)] as $new
    | if $new == [] then [$root, $dels + [$p]]
      else [($root | __ocean_setpath($p; $new[0])), $dels] end)
  | . as [$root, $dels] | $root | __ocean_delpaths($dels);

# jq 1.8 looks keys up under `key`, `Key`, `name` or `Name` (not `k`), and refuses non-string keys.
def from_entries:
  reduce .[] as $e ({};
    . + {($e | (.key // .Key // .name // .Name) | __ocean_objkey):
         ($e | if has("value") then .value else .Value end)});
def with_entries(f): to_entries | map(f) | from_entries;

def __ocean_jaq_nth($n; g): nth($n; g);
def nth($n; g): if $n < 0 then error("nth doesn't support negative indices") else __ocean_jaq_nth($n; g) end;
# jq 1.8 flattens element by element: an empty array stays empty (not null), and flattening a
# value that is not an array fails.
def __ocean_flatten($d): reduce .[] as $x ([];
  if $d != 0 and ($x | type) == "array" then . + ($x | __ocean_flatten($d - 1)) else . + [$x] end);
def flatten($d): if $d < 0 then error("flatten depth must not be negative") else __ocean_flatten($d) end;
def flatten: __ocean_flatten(-1);
def __ocean_jaq_reverse: reverse;
def reverse:
  if type == "array" then __ocean_jaq_reverse
  elif length == 0 then []
  else error("Cannot index " + type + " with number") end;
def __ocean_jaq_contains($b): contains($b);
def contains($b):
  if type == ($b | type) then __ocean_jaq_contains($b)
  else error(type + " (" + __ocean_tojson + ") and " + ($b | type) + " (" + ($b | __ocean_tojson) + ") cannot have their containment checked") end;
def __ocean_jaq_indices($i): indices($i);
def indices($i): if type == "array" or type == "string" then __ocean_jaq_indices($i) else __ocean_index($i) end;
def index($i): indices($i) | .[0];
def rindex($i): indices($i) | .[-1];

# No program here reads further inputs.
def input: __ocean_no_input;
def inputs: empty;

# Regular expressions (Oniguruma semantics, see regex.rs).
def test($re; $flags): __ocean_test($re; $flags);
def test($val): __ocean_test1($val);
def match($re; $flags): __ocean_match($re; $flags)[];
def match($val): __ocean_match1($val)[];
def capture($re; $flags): __ocean_capture($re; $flags)[];
def capture($val): __ocean_capture1($val)[];
def scan($re; $flags): __ocean_scan($re; $flags)[];
def scan($re): __ocean_scan($re; null)[];
def splits($re; $flags): __ocean_splits($re; $flags)[];
def splits($re): __ocean_splits($re; null)[];
def split($re; $flags): __ocean_splits($re; $flags);
def sub($re; f; $flags):
  . as $in
  | __ocean_sub_parts($re; $flags) as $parts
  | ($parts | length - 1) as $n
  | (reduce $parts[:$n][] as [$gap, $caps] ([];
      . as $acc
      | [$caps | f] as $ins
      | [range(0; [($acc | length), ($ins | length)] | max) as $i
         | if $i < ($ins | length) then $acc[$i] + ($gap + $ins[$i]) else $acc[$i] end])) as $res
  | if $res == [] then $in else $res[] + $parts[$n] end;
def sub($re; f): sub($re; f; "");
def gsub($re; f; $flags): sub($re; f; $flags + "g");
def gsub($re; f): sub($re; f; "g");

# jq 1.8 refuses a negative count for skip, as for limit.
def __ocean_skip($n; f): skip($n; f);
def skip($n; f): if $n < 0 then error("skip doesn't support negative count") else __ocean_skip($n; f) end;

# jq 1.8's has: arrays take number keys (a negative one is absent), objects string keys;
# anything else fails. `in` is `has` seen from the key.
def __ocean_has($k): has($k);
def has($k): type as $t | ($k | type) as $kt |
  if $t == "null" and ($kt == "string" or $kt == "number") then false
  elif $t == "array" and $kt == "number" then $k >= 0 and $k < length
  elif $t == "object" and $kt == "string" then __ocean_has($k)
  else error("Cannot check whether \($t) has a \($kt) key") end;
def in(xs): . as $key | xs | has($key);
def inside(xs): . as $part | xs | contains($part);

# jq 1.8's ranges need numeric bounds; a step of zero yields nothing.
def __ocean_range3($from; $upto; $by): range($from; $upto; $by);
def range($from; $upto; $by): if $by == 0 then empty else __ocean_range3($from; $upto; $by) end;
def __ocean_range($from; $upto): range($from; $upto);
def range($from; $upto):
  if ($from | type) == "number" and ($upto | type) == "number" then __ocean_range($from; $upto)
  else error("Range bounds must be numeric") end;
def range($upto): range(0; $upto);

# jq 1.8 parses only booleans and the strings "true" and "false" as booleans.
def toboolean:
  if type == "boolean" then . elif . == "true" then true elif . == "false" then false
  else error("\(type) (\(__ocean_tojson)) cannot be parsed as a boolean") end;

# The empty product has one combination, the empty one (so `null` and `[]` give `[]`).
def combinations:
  if length == 0 then [] else .[0][] as $head | (.[1:] | combinations) as $tail | [$head] + $tail end;
def combinations($n): . as $set | [range($n) | $set] | combinations;

# Builtins jq 1.8 has and jaq lacks.
def format($name):
  if $name == "text" then @text elif $name == "json" then @json elif $name == "html" then @html
  elif $name == "uri" then @uri elif $name == "csv" then @csv elif $name == "tsv" then @tsv
  elif $name == "sh" then @sh elif $name == "base64" then @base64 elif $name == "base64d" then @base64d
  else error("\($name) is not a valid format") end;
def truncate_stream(stream): . as $depth | null | stream
  | select((.[0] | length) > $depth) | .[0] |= .[$depth:];
def JOIN($idx; idx_expr): [.[] | [., $idx[idx_expr]]];
def JOIN($idx; stream; idx_expr): stream | [., $idx[idx_expr]];
def JOIN($idx; stream; idx_expr; join_expr): stream | [., $idx[idx_expr]] | join_expr;
def get_search_list: [];
def get_jq_origin: empty;
def get_prog_origin: empty;
