//! Source and syntax-tree rewrites applied before compiling a user's jq.

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Def, Pattern, Term};
use jaq_core::ops::Math;
use jaq_core::path::{Part, Path};

/// Ocean's single-quote rewrite: a `'` at the start or after whitespace (and not followed by
/// whitespace or `"`), or a `'` not after whitespace or `"` and followed by whitespace or the
/// end, becomes `"`. Matches are consumed left to right like Python's `re.sub`, so a whitespace
/// character taken by one match cannot start the next.
pub fn rewrite_single_quotes(expr: &str) -> String {
    if !expr.contains('\'') {
        return expr.to_owned();
    }
    let c: Vec<char> = expr.chars().collect();
    let n = c.len();
    let ahead_ok = |q: usize| q >= n || !(c[q].is_whitespace() || c[q] == '"');
    let behind_ok = |p: usize| p == 0 || !(c[p - 1].is_whitespace() || c[p - 1] == '"');
    let mut out = String::with_capacity(expr.len());
    let mut p = 0;
    while p < n {
        if p == 0 && c[0] == '\'' && ahead_ok(1) {
            out.push('"');
            p = 1;
        } else if c[p].is_whitespace() && p + 1 < n && c[p + 1] == '\'' && ahead_ok(p + 2) {
            out.push(c[p]);
            out.push('"');
            p += 2;
        } else if c[p] == '\'' && behind_ok(p) && (p + 1 == n || c[p + 1].is_whitespace()) {
            out.push('"');
            if p + 1 < n {
                out.push(c[p + 1]);
            }
            p += 2;
        } else {
            out.push(c[p]);
            p += 1;
        }
    }
    out
}

/// Deepest bracket nesting accepted: jaq's parser recurses per level.
pub(crate) const MAX_NESTING: usize = 256;

/// The deepest nesting of `(`, `[` and `{` outside string literals.
pub(crate) fn nesting_depth(code: &str) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for ch in code.chars() {
        if in_str {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_str = true,
            '(' | '[' | '{' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Rewrites a parsed user program into jq 1.8 semantics on jaq:
/// remainders truncate their operands (through `__ocean_rem`), strings repeat under `*`,
/// assignments and updates go through jq's path functions, computed object keys and indices
/// follow jq's key rules,
/// string interpolation goes through `@text` (jq 1.8 number formatting), slices use object
/// indices (so slicing `null` gives `null`), division goes through a zero check, and
/// `$__loc__` becomes its constant.
pub(crate) struct Rewriter<'s, 'a> {
    pub(crate) code: &'s str,
    pub(crate) arena: &'s jaq_core::load::Arena,
    pub(crate) uses_env: bool,
    _marker: std::marker::PhantomData<&'a ()>,
}

type T<'s> = Term<&'s str>;

impl<'s> Rewriter<'s, '_> {
    pub(crate) fn new(code: &'s str, arena: &'s jaq_core::load::Arena) -> Self {
        Self {
            code,
            arena,
            uses_env: false,
            _marker: std::marker::PhantomData,
        }
    }

    // Takes the box the parser made so that call sites can pass fields through unchanged.
    #[allow(clippy::boxed_local)]
    fn boxed(&mut self, t: Box<T<'s>>) -> Box<T<'s>> {
        Box::new(self.term(*t))
    }

    fn str_term(s: &'s str) -> T<'s> {
        Term::Str(None, vec![StrPart::Str(s)])
    }

    fn loc(&mut self, var: &'s str) -> T<'s> {
        let line = if var.as_ptr() as usize >= self.code.as_ptr() as usize
            && (var.as_ptr() as usize) < self.code.as_ptr() as usize + self.code.len().max(1)
        {
            let offset = jaq_core::load::span(self.code, var).start;
            self.code[..offset].matches('\n').count() + 1
        } else {
            1
        };
        let line: &'s str = self.arena.alloc(line.to_string());
        Term::Obj(vec![
            (Self::str_term("file"), Some(Self::str_term("<top-level>"))),
            (Self::str_term("line"), Some(Term::Num(line))),
        ])
    }

    fn pattern(&mut self, p: Pattern<&'s str>) -> Pattern<&'s str> {
        match p {
            Pattern::Var(v) => Pattern::Var(v),
            Pattern::Arr(ps) => Pattern::Arr(ps.into_iter().map(|p| self.pattern(p)).collect()),
            Pattern::Obj(entries) => Pattern::Obj(
                entries
                    .into_iter()
                    .map(|(k, p)| (self.term(k), self.pattern(p)))
                    .collect(),
            ),
        }
    }

    fn path(&mut self, path: Path<T<'s>>) -> Path<T<'s>> {
        Path(
            path.0
                .into_iter()
                .map(|(part, opt)| {
                    let part = match part {
                        // Literal keys and positions index as they are; anything else goes
                        // through jq's key rules (`.[1.7]` is `.[1]`, `.[null]` fails).
                        Part::Index(i) if is_plain_key(&i) => Part::Index(self.term(i)),
                        Part::Index(i) => {
                            let i = self.term(i);
                            Part::Index(pipe(i, "__ocean_key"))
                        }
                        Part::Range(None, None) => Part::Range(None, None),
                        // `.[a:b]` as `.[{"start": a, "end": b}]`: the same slice, but an
                        // index on `null` gives `null` where jaq's slice fails. Fractional
                        // bounds widen the slice, as in jq.
                        Part::Range(from, upto) => {
                            let mut bounds = Vec::with_capacity(2);
                            if let Some(f) = from {
                                let f = self.bound(f, "__ocean_slice_start");
                                bounds.push((Self::str_term("start"), Some(f)));
                            }
                            if let Some(u) = upto {
                                let u = self.bound(u, "__ocean_slice_end");
                                bounds.push((Self::str_term("end"), Some(u)));
                            }
                            Part::Index(Term::Obj(bounds))
                        }
                    };
                    (part, opt)
                })
                .collect(),
        )
    }

    fn bound(&mut self, t: T<'s>, round: &'static str) -> T<'s> {
        if is_int_literal(&t) {
            t
        } else {
            pipe(self.term(t), round)
        }
    }

    /// `l op= r` as jq 1.8 defines it: `r as $x | l |= (. op $x)`.
    fn update_with(&mut self, l: T<'s>, op: BinaryOp<&'s str>, r: T<'s>) -> T<'s> {
        const RHS: &str = "$__ocean_rhs";
        let update = Term::BinOp(Box::new(Term::Id), op, Box::new(Term::Var(RHS)));
        let modify = Term::Call("__ocean_modify", vec![self.term(l), self.term(update)]);
        Term::BinOp(
            Box::new(self.term(r)),
            BinaryOp::Pipe(Some(Pattern::Var(RHS))),
            Box::new(modify),
        )
    }

    fn def(&mut self, d: Def<&'s str, T<'s>>) -> Def<&'s str, T<'s>> {
        Def {
            name: d.name,
            args: d.args,
            body: self.term(d.body),
        }
    }

    /// Rewrites one term.
    pub(crate) fn term(&mut self, t: T<'s>) -> T<'s> {
        match t {
            Term::Id | Term::Recurse | Term::Num(_) | Term::Break(_) => t,
            Term::Str(fmt, parts) => {
                let has_term = parts.iter().any(|p| matches!(p, StrPart::Term(_)));
                let parts = parts
                    .into_iter()
                    .map(|p| match p {
                        StrPart::Term(t) => StrPart::Term(self.term(t)),
                        other => other,
                    })
                    .collect();
                let fmt = match fmt {
                    None if has_term => Some("@text"),
                    fmt => fmt,
                };
                Term::Str(fmt, parts)
            }
            Term::Arr(inner) => Term::Arr(inner.map(|t| self.boxed(t))),
            Term::Obj(entries) => Term::Obj(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        // A computed key must be a string (`{(1): 2}` fails in jq).
                        let (k, v) = match (k, v) {
                            // `{$__loc__}` is `{"__loc__": $__loc__}`.
                            (Term::Var("$__loc__"), None) => {
                                (Self::str_term("__loc__"), Some(Term::Var("$__loc__")))
                            }
                            kv => kv,
                        };
                        let k = match k {
                            k @ Term::Str(..) => self.term(k),
                            k @ Term::Var(_) if v.is_none() => self.term(k),
                            k => pipe(self.term(k), "__ocean_objkey"),
                        };
                        (k, v.map(|v| self.term(v)))
                    })
                    .collect(),
            ),
            Term::Neg(t) => Term::Neg(self.boxed(t)),
            Term::BinOp(l, BinaryOp::Math(Math::Mul), r) => {
                Term::Call("__ocean_mul_op", vec![self.term(*l), self.term(*r)])
            }
            // Updates run on paths as jq runs them (creating structure under `null`).
            Term::BinOp(l, BinaryOp::Assign, r) => {
                Term::Call("__ocean_assign", vec![self.term(*l), self.term(*r)])
            }
            Term::BinOp(l, BinaryOp::Update, r) => {
                Term::Call("__ocean_modify", vec![self.term(*l), self.term(*r)])
            }
            Term::BinOp(l, BinaryOp::UpdateMath(op), r) => {
                self.update_with(*l, BinaryOp::Math(op), *r)
            }
            Term::BinOp(l, BinaryOp::UpdateAlt, r) => self.update_with(*l, BinaryOp::Alt, *r),
            Term::BinOp(l, BinaryOp::Math(Math::Div), r) => {
                Term::Call("__ocean_div", vec![self.term(*l), self.term(*r)])
            }
            Term::BinOp(l, BinaryOp::Math(Math::Rem), r) => {
                Term::Call("__ocean_rem", vec![self.term(*l), self.term(*r)])
            }
            Term::BinOp(l, op, r) => {
                let op = match op {
                    BinaryOp::Pipe(Some(p)) => BinaryOp::Pipe(Some(self.pattern(p))),
                    op => op,
                };
                Term::BinOp(self.boxed(l), op, self.boxed(r))
            }
            Term::Label(l, t) => Term::Label(l, self.boxed(t)),
            Term::Fold(name, xs, pat, args) => Term::Fold(
                name,
                self.boxed(xs),
                self.pattern(pat),
                args.into_iter().map(|a| self.term(a)).collect(),
            ),
            Term::TryCatch(t, c) => Term::TryCatch(self.boxed(t), c.map(|c| self.boxed(c))),
            Term::IfThenElse(branches, els) => Term::IfThenElse(
                branches
                    .into_iter()
                    .map(|(c, t)| (self.term(c), self.term(t)))
                    .collect(),
                els.map(|e| self.boxed(e)),
            ),
            Term::Def(defs, t) => Term::Def(
                defs.into_iter().map(|d| self.def(d)).collect(),
                self.boxed(t),
            ),
            Term::Call(name, args) => {
                Term::Call(name, args.into_iter().map(|a| self.term(a)).collect())
            }
            Term::Var("$__loc__") => self.loc("$__loc__"),
            Term::Var(v) => {
                if v == "$ENV" {
                    self.uses_env = true;
                }
                Term::Var(v)
            }
            Term::Path(t, path) => Term::Path(self.boxed(t), self.path(path)),
        }
    }
}

/// `t | name`.
fn pipe<'s>(t: T<'s>, name: &'s str) -> T<'s> {
    Term::BinOp(
        Box::new(t),
        BinaryOp::Pipe(None),
        Box::new(Term::Call(name, Vec::new())),
    )
}

/// An integer literal, possibly negated.
fn is_int_literal(t: &Term<&str>) -> bool {
    match t {
        Term::Num(n) => n.bytes().all(|b| b.is_ascii_digit()),
        Term::Neg(inner) => is_int_literal(inner),
        _ => false,
    }
}

/// A key that indexes the same in jaq as in jq: a string or an integer literal.
fn is_plain_key(t: &Term<&str>) -> bool {
    matches!(t, Term::Str(..)) || is_int_literal(t)
}

/// True when `t` calls `name` anywhere (a conservative recursion test).
fn calls(t: &Term<&str>, name: &str) -> bool {
    match t {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Break(_) | Term::Var(_) => false,
        Term::Str(_, parts) => parts.iter().any(|p| match p {
            StrPart::Term(t) => calls(t, name),
            _ => false,
        }),
        Term::Arr(inner) => inner.as_ref().is_some_and(|t| calls(t, name)),
        Term::Obj(entries) => entries
            .iter()
            .any(|(k, v)| calls(k, name) || v.as_ref().is_some_and(|v| calls(v, name))),
        Term::Neg(t) | Term::Label(_, t) => calls(t, name),
        Term::BinOp(l, _, r) => calls(l, name) || calls(r, name),
        Term::Fold(_, xs, _, args) => calls(xs, name) || args.iter().any(|a| calls(a, name)),
        Term::TryCatch(t, c) => calls(t, name) || c.as_ref().is_some_and(|c| calls(c, name)),
        Term::IfThenElse(branches, els) => {
            branches
                .iter()
                .any(|(c, t)| calls(c, name) || calls(t, name))
                || els.as_ref().is_some_and(|e| calls(e, name))
        }
        Term::Def(defs, t) => defs.iter().any(|d| calls(&d.body, name)) || calls(t, name),
        Term::Call(n, args) => *n == name || args.iter().any(|a| calls(a, name)),
        Term::Path(t, path) => {
            calls(t, name)
                || path.0.iter().any(|(part, _)| match part {
                    Part::Index(i) => calls(i, name),
                    Part::Range(f, u) => {
                        f.as_ref().is_some_and(|f| calls(f, name))
                            || u.as_ref().is_some_and(|u| calls(u, name))
                    }
                })
        }
    }
}

/// Wraps the body of every recursive definition (including nested ones) in a stack check.
pub(crate) fn guard_recursion<'s>(d: Def<&'s str, T<'s>>) -> Def<&'s str, T<'s>> {
    let recursive = calls(&d.body, d.name);
    let body = guard_term(d.body);
    let body = if recursive {
        Term::IfThenElse(
            vec![(Term::Call("__ocean_stack_ok", Vec::new()), body)],
            Some(Box::new(Term::Call("__ocean_recursion_error", Vec::new()))),
        )
    } else {
        body
    };
    Def {
        name: d.name,
        args: d.args,
        body,
    }
}

/// Applies [`guard_recursion`] to the definitions nested in a term.
pub(crate) fn guard_term(t: T<'_>) -> T<'_> {
    match t {
        Term::Def(defs, rest) => Term::Def(
            defs.into_iter().map(guard_recursion).collect(),
            Box::new(guard_term(*rest)),
        ),
        Term::BinOp(l, op, r) => {
            Term::BinOp(Box::new(guard_term(*l)), op, Box::new(guard_term(*r)))
        }
        Term::IfThenElse(branches, els) => Term::IfThenElse(
            branches
                .into_iter()
                .map(|(c, t)| (guard_term(c), guard_term(t)))
                .collect(),
            els.map(|e| Box::new(guard_term(*e))),
        ),
        Term::TryCatch(t, c) => Term::TryCatch(
            Box::new(guard_term(*t)),
            c.map(|c| Box::new(guard_term(*c))),
        ),
        Term::Label(l, t) => Term::Label(l, Box::new(guard_term(*t))),
        Term::Neg(t) => Term::Neg(Box::new(guard_term(*t))),
        Term::Arr(inner) => Term::Arr(inner.map(|t| Box::new(guard_term(*t)))),
        Term::Call(n, args) => Term::Call(n, args.into_iter().map(guard_term).collect()),
        Term::Fold(name, xs, pat, args) => Term::Fold(
            name,
            Box::new(guard_term(*xs)),
            pat,
            args.into_iter().map(guard_term).collect(),
        ),
        Term::Path(t, path) => Term::Path(Box::new(guard_term(*t)), path),
        other => other,
    }
}

/// Builtins whose result depends only on their arguments (not on the input, clock or
/// environment).
const PURE_BUILTINS: &[&str] = &["true", "false", "null", "empty", "range", "nan", "infinite"];

/// True when a program never reads its input, the clock or the environment, so that one
/// evaluation serves every item (`'"jiraIssue"'`, `true`, `[1, 2]`, `"a" + "b"`).
pub(crate) fn is_constant(t: &Term<&str>) -> bool {
    match t {
        Term::Num(_) => true,
        Term::Str(_, parts) => parts.iter().all(|p| match p {
            StrPart::Term(t) => is_constant(t),
            _ => true,
        }),
        Term::Arr(inner) => inner.as_ref().is_none_or(|t| is_constant(t)),
        Term::Obj(entries) => entries
            .iter()
            .all(|(k, v)| is_constant(k) && v.as_ref().is_some_and(|v| is_constant(v))),
        Term::Neg(t) => is_constant(t),
        Term::BinOp(l, op, r) => {
            matches!(
                op,
                BinaryOp::Comma
                    | BinaryOp::Alt
                    | BinaryOp::Or
                    | BinaryOp::And
                    | BinaryOp::Math(_)
                    | BinaryOp::Cmp(_)
            ) && is_constant(l)
                && is_constant(r)
        }
        Term::IfThenElse(branches, els) => {
            branches
                .iter()
                .all(|(c, t)| is_constant(c) && is_constant(t))
                && els.as_ref().is_none_or(|e| is_constant(e))
        }
        Term::Call(name, args) => PURE_BUILTINS.contains(name) && args.iter().all(is_constant),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_quotes_around_words_become_double_quotes() {
        assert_eq!(
            rewrite_single_quotes(".organization + '/' + .repository"),
            ".organization + \"/\" + .repository"
        );
        assert_eq!(
            rewrite_single_quotes(".organization + '/'"),
            ".organization + \"/\""
        );
        assert_eq!(
            rewrite_single_quotes("'/' + .organization"),
            "\"/\" + .organization"
        );
        assert_eq!(rewrite_single_quotes("\"shalom\""), "\"shalom\"");
        assert_eq!(
            rewrite_single_quotes(".name != 'x' and .t == 'Bug'"),
            ".name != \"x\" and .t == \"Bug\""
        );
    }

    #[test]
    fn single_quotes_next_to_punctuation_stay_as_ocean_leaves_them() {
        assert_eq!(rewrite_single_quotes("split('/')"), "split('/')");
        assert_eq!(rewrite_single_quotes("'x'+.a"), "\"x'+.a");
        assert_eq!(
            rewrite_single_quotes(".fields.\"System.Description\" // ''"),
            ".fields.\"System.Description\" // \"\""
        );
    }

    #[test]
    fn nesting_depth_ignores_brackets_in_strings() {
        assert_eq!(nesting_depth("[.a, (.b)]"), 2);
        assert_eq!(nesting_depth("\"(((\" + .a"), 0);
        assert_eq!(nesting_depth("[[\"\\(.a)\"]]"), 2);
    }
}
