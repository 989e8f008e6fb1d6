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
def @base32: __ocean_tostring | __ocean_base32;
def @base32d: __ocean_tostring | __ocean_base32d;
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
def leaf_paths: paths(scalars);
def trimstr($x): ltrimstr($x) | rtrimstr($x);
def have_decnum: true;
def have_literal_numbers: true;
def input_filename: null;
def tostream: path(def r: (.[]? | r), .; r) as $p | getpath($p) | reduce path(.[]?) as $q ([$p, .]; [$p + $q]);

# Times are UTC, which jq 1.8 names GMT.
def __ocean_strftime($f): strftime($f);
def strftime($f): __ocean_strftime(if ($f | type) == "string" then $f | __ocean_split("%Z") | __ocean_join("GMT") else $f end);

# jq 1.8 accepts only whole seconds with a Z suffix.
def fromdateiso8601: strptime("%Y-%m-%dT%H:%M:%SZ") | mktime;
def todateiso8601: strftime("%Y-%m-%dT%H:%M:%SZ");
def fromdate: fromdateiso8601;
def todate: todateiso8601;
