//! Destructuring alternatives (`E as P1 ?// P2 ?// P3 | BODY`), which jaq's parser lacks,
//! rewritten into jq it parses before compiling.
//!
//! jq binds the first pattern and runs the body; if binding or the body fails, it tries the
//! next pattern, and an error of the last one is the program's error. Every variable of every
//! pattern is bound, to `null` where the pattern in use does not bind it. So
//!
//! ```text
//! E as [$a] ?// $b | BODY
//! ```
//!
//! becomes
//!
//! ```text
//! E as $__ocean_alt0 | try (null as $b | $__ocean_alt0 as [$a] | (BODY))
//!                      catch (null as $a | $__ocean_alt0 as $b | (BODY))
//! ```
//!
//! (an array pattern first checks that the value is an array or null, since jaq would index an
//! object with a number as `null` where jq fails and moves on). The body extends as far as
//! jq's would: to the end of the enclosing parentheses, brackets or
//! braces, or to a `;`, `then`, `elif`, `else` or `end` that does not belong to it.

use jaq_core::load::lex::{Lexer, StrPart, Tok, Token};

/// Rewrites at most this many alternatives per program (each rewrite re-lexes the program).
const MAX_REWRITES: usize = 64;

/// The program with every destructuring alternative rewritten; `None` when it has none (or
/// does not lex, which the parser then reports).
pub(crate) fn desugar(code: &str) -> Option<String> {
    if !has_alternative_marker(code) {
        return None;
    }
    let mut current = code.to_owned();
    let mut changed = false;
    for pass in 0..MAX_REWRITES {
        let tokens = Lexer::new(current.as_str()).lex().ok()?;
        let Some(site) = find(&tokens, &current) else {
            break;
        };
        let replacement = site.render(&current, pass);
        current.replace_range(site.start..site.end, &replacement);
        changed = true;
    }
    changed.then_some(current)
}

/// A cheap test for `?` followed (after blanks) by `//`.
fn has_alternative_marker(code: &str) -> bool {
    code.match_indices('?')
        .any(|(i, _)| code[i + 1..].trim_start().starts_with("//"))
}

/// One `as P1 ?// P2 ... | BODY`: byte ranges in the program.
struct Site {
    /// Start of the first pattern.
    start: usize,
    /// End of the body.
    end: usize,
    patterns: Vec<(usize, usize)>,
    body: (usize, usize),
    /// The variables each pattern binds.
    vars: Vec<Vec<String>>,
}

impl Site {
    fn render(&self, code: &str, pass: usize) -> String {
        let value = format!("$__ocean_alt{pass}");
        let body = &code[self.body.0..self.body.1];
        let all: Vec<&String> = {
            let mut all = Vec::new();
            for var in self.vars.iter().flatten() {
                if !all.contains(&var) {
                    all.push(var);
                }
            }
            all
        };
        let branch = |index: usize| {
            let (from, to) = self.patterns[index];
            let mut out = String::from("(");
            for var in &all {
                if !self.vars[index].contains(var) {
                    out.push_str(&format!("null as {var} | "));
                }
            }
            let pattern = &code[from..to];
            // jaq indexes an object with a number as `null` where jq fails; the failure is
            // what moves jq on to the next pattern, so an array pattern checks the type.
            let source = if pattern.starts_with('[') {
                format!(
                    "({value} | if type == \"array\" or type == \"null\" then . \
                     else error(\"Cannot index \\(type) with number\") end)"
                )
            } else {
                value.clone()
            };
            out.push_str(&format!("{source} as {pattern} | ({body}))"));
            out
        };
        let last = self.patterns.len() - 1;
        let mut out = format!("{value} | ");
        for index in 0..last {
            out.push_str(&format!("try {} catch ", branch(index)));
        }
        out.push_str(&branch(last));
        out
    }
}

/// Byte offset of `part` (a slice of `code`) in `code`.
fn offset(code: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(code.as_ptr() as usize)
}

fn end_of(code: &str, token: &Token<&str>) -> usize {
    offset(code, token.0) + token.0.len()
}

fn is_sym(token: Option<&Token<&str>>, sym: &str) -> bool {
    matches!(token, Some(Token(s, Tok::Sym)) if *s == sym)
}

/// The first site in source order, looking into nested blocks and string interpolations.
fn find(tokens: &[Token<&str>], code: &str) -> Option<Site> {
    for (i, token) in tokens.iter().enumerate() {
        if matches!(token, Token("as", Tok::Word))
            && let Some(site) = site_at(tokens, i, code)
        {
            return Some(site);
        }
        let nested = match &token.1 {
            Tok::Block(inner) => find(inner, code),
            Tok::Str(parts) => parts.iter().find_map(|part| match part {
                StrPart::Term(Token(_, Tok::Block(inner))) => find(inner, code),
                _ => None,
            }),
            _ => None,
        };
        if nested.is_some() {
            return nested;
        }
    }
    None
}

/// The site whose `as` is `tokens[at]`, when its patterns have alternatives.
fn site_at(tokens: &[Token<&str>], at: usize, code: &str) -> Option<Site> {
    let mut i = at + 1;
    let mut patterns = Vec::new();
    let mut vars = Vec::new();
    loop {
        let pattern = tokens.get(i)?;
        let is_pattern = match &pattern.1 {
            Tok::Var => true,
            Tok::Block(_) => pattern.0.starts_with('[') || pattern.0.starts_with('{'),
            _ => false,
        };
        if !is_pattern {
            return None;
        }
        patterns.push((offset(code, pattern.0), end_of(code, pattern)));
        let mut bound = Vec::new();
        pattern_vars(pattern, &mut bound);
        vars.push(bound);
        i += 1;
        if is_sym(tokens.get(i), "?") && is_sym(tokens.get(i + 1), "//") {
            i += 2;
        } else {
            break;
        }
    }
    if patterns.len() < 2 || !is_sym(tokens.get(i), "|") {
        return None;
    }
    let body_tokens = &tokens[i + 1..];
    let body_len = body_extent(body_tokens);
    let last = body_tokens.get(body_len.checked_sub(1)?)?;
    let body = (offset(code, body_tokens[0].0), end_of(code, last));
    Some(Site {
        start: patterns[0].0,
        end: body.1,
        patterns,
        body,
        vars,
    })
}

/// The variables a pattern binds (those inside a computed key `(...)` are read, not bound).
fn pattern_vars(token: &Token<&str>, out: &mut Vec<String>) {
    match &token.1 {
        Tok::Var => {
            let name = token.0.to_owned();
            if !out.contains(&name) {
                out.push(name);
            }
        }
        Tok::Block(inner) if !token.0.starts_with('(') => {
            for t in inner {
                pattern_vars(t, out);
            }
        }
        _ => {}
    }
}

/// How many of `tokens` the body of an `as` takes.
fn body_extent(tokens: &[Token<&str>]) -> usize {
    let mut ifs = 0usize;
    let mut defs = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token("if", Tok::Word) => ifs += 1,
            Token("def", Tok::Word) => defs += 1,
            Token("end", Tok::Word) if ifs > 0 => ifs -= 1,
            Token(";", Tok::Sym) if defs > 0 => defs -= 1,
            Token("then" | "elif" | "else" | "end", Tok::Word) if ifs == 0 => return i,
            // A block's tokens end with its closing delimiter.
            Token(";" | ")" | "]" | "}", Tok::Sym) => return i,
            _ => {}
        }
    }
    tokens.len()
}

#[cfg(test)]
mod tests {
    use super::desugar;

    #[test]
    fn programs_without_alternatives_are_left_alone() {
        assert_eq!(desugar(".a // .b"), None);
        assert_eq!(desugar(".a? // .b"), None);
        assert_eq!(desugar(". as [$a] | $a"), None);
    }

    #[test]
    fn the_body_stops_where_jq_stops_it() {
        let out = desugar("if true then . as [$a] ?// $a | $a else 0 end").unwrap();
        assert!(out.ends_with(" else 0 end"), "{out}");
        let out = desugar("def f: . as [$a] ?// $a | $a; f").unwrap();
        assert!(out.ends_with("; f"), "{out}");
        let out = desugar("[.[] as [$a] ?// $a | if $a then 1 else 2 end]").unwrap();
        assert!(out.ends_with("end))]"), "{out}");
    }
}
