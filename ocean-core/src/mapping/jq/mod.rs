//! jq with jq 1.8 semantics, on jaq.
//!
//! Every program is compiled once ([`JqEngine::compile`] caches by source) and can then run on
//! any thread. On top of jaq's standard library, a compat prelude, native filters and a few
//! syntax rewrites give jq 1.8.2 semantics, checked case by case against real jq by the golden
//! corpus (`tests/jq_golden`; the remaining differences are in `docs/jq-compatibility.md`):
//! numbers print as jq prints them (`10 / 2` is `5`, `1e17 | tostring` is `"1E+17"`), slicing
//! `null` gives `null`, assignments and updates create structure under `null` and delete as jq
//! does, regular expressions follow Oniguruma (look-around, backreferences), and builtins such
//! as `join`, `tonumber`, `from_entries`, `@base64d`, `limit`, `$ENV`/`env` (see
//! [`JqOptions::allow_env`]), `@csv`, `@tsv`, `@sh`, `IN`, `INDEX`, `tostream`/`fromstream` and
//! `$__loc__` behave as in jq 1.8.2. Ocean's single-quote rewrite is applied before compiling.
//!
//! Common mapping expressions (paths such as `.fields.status.name`, string interpolation, `+`,
//! `//`, `split`, `join`, `map`, ...) run on the JSON directly (`fastpath.rs`), and other
//! programs get only the parts of the item they read converted for jaq.
//!
//! Recursion is bounded: recursive definitions check a per-thread stack budget and fail with a
//! jq error past it, instead of overflowing the stack (see `stack.rs`).

mod alternatives;
mod fastpath;
mod natives;
mod paths;
mod regex;
mod rewrite;
mod stack;
pub(crate) mod value;

pub use rewrite::rewrite_single_quotes;

use jaq_core::load::lex::{Lexer, Tok, Token};
use jaq_core::load::parse::{Def, Parser, Term};
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars};
use jaq_json::Val;
use natives::Data;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The compat prelude, loaded after jaq's standard library so that its definitions win.
const PRELUDE: &str = include_str!("prelude.jq");

/// Definitions that only exist when environment access is off.
const NO_ENV_PRELUDE: &str = "def env: {};";

/// Compiled programs kept per engine before the cache is emptied (configs hold a few hundred).
const CACHE_CAPACITY: usize = 8192;

/// Options of a [`JqEngine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JqOptions {
    /// Whether `env` and `$ENV` see the process environment (Ocean's default); when false both
    /// are empty objects.
    pub allow_env: bool,
}

impl Default for JqOptions {
    fn default() -> Self {
        Self { allow_env: true }
    }
}

/// A jq failure: the program did not compile, failed at run time, or produced a value that
/// cannot be represented as JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JqError {
    /// The expression is not valid jq (syntax error or unknown function).
    #[error("invalid jq expression `{expr}`: {message}")]
    Compile {
        /// The expression as written.
        expr: String,
        /// What was wrong.
        message: String,
    },
    /// The expression failed while running.
    #[error("jq expression `{expr}` failed: {message}")]
    Runtime {
        /// The expression as written.
        expr: String,
        /// The jq error.
        message: String,
    },
    /// The expression produced a value nested too deeply to convert.
    #[error("jq expression `{expr}` produced a value nested deeper than {max_depth} levels")]
    OutputTooDeep {
        /// The expression as written.
        expr: String,
        /// The deepest nesting accepted.
        max_depth: usize,
    },
}

impl JqError {
    /// The expression this error is about.
    pub fn expr(&self) -> &str {
        match self {
            Self::Compile { expr, .. }
            | Self::Runtime { expr, .. }
            | Self::OutputTooDeep { expr, .. } => expr,
        }
    }

    /// The error without the expression (for log fields that carry the pattern separately).
    pub fn message(&self) -> String {
        match self {
            Self::Compile { message, .. } | Self::Runtime { message, .. } => message.clone(),
            Self::OutputTooDeep { max_depth, .. } => {
                format!("output nested deeper than {max_depth} levels")
            }
        }
    }
}

type Filter = jaq_core::Filter<Data>;

struct ProgramInner {
    source: String,
    filter: Filter,
    /// The environment bound to `$ENV`, when the program uses it.
    env: Option<Vec<(String, String)>>,
    /// The single result of a program that reads no input, computed once.
    constant: Option<Result<Option<Value>, JqError>>,
    /// The program in the subset evaluated on the JSON directly, without jaq.
    fast_path: Option<fastpath::FastPath>,
    /// The only parts of the input the program reads, when that is known.
    projection: Option<fastpath::Projection>,
}

/// A compiled jq program: cheap to clone, shareable across threads.
#[derive(Clone)]
pub struct JqProgram {
    inner: Arc<ProgramInner>,
}

impl std::fmt::Debug for JqProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JqProgram")
            .field("source", &self.inner.source)
            .finish_non_exhaustive()
    }
}

/// An input to run several programs on: converted for jaq at most once, and only if a program
/// needs more than plain path lookups (not `Send`: create it on the thread that evaluates).
pub struct JqInput<'a> {
    json: &'a Value,
    val: std::cell::OnceCell<Val>,
}

impl<'a> JqInput<'a> {
    /// Wraps a JSON value.
    pub fn new(value: &'a Value) -> Self {
        Self {
            json: value,
            val: std::cell::OnceCell::new(),
        }
    }

    fn val(&self) -> Val {
        self.val.get_or_init(|| value::to_val(self.json)).clone()
    }
}

impl JqProgram {
    /// The expression as written (before the single-quote rewrite).
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// True when the program reads neither its input nor the environment or clock, so that
    /// its result is the same for every item.
    pub fn is_constant(&self) -> bool {
        self.inner.constant.is_some()
    }

    /// The first output, `None` when the program yields nothing.
    pub fn first(&self, input: &Value) -> Result<Option<Value>, JqError> {
        self.first_on(&JqInput::new(input))
    }

    /// The first output on an already converted input.
    pub fn first_on(&self, input: &JqInput<'_>) -> Result<Option<Value>, JqError> {
        if let Some(constant) = &self.inner.constant {
            return constant.clone();
        }
        if let Some(fast) = &self.inner.fast_path {
            match fast.eval(input.json) {
                Ok(out) => return Ok(out),
                Err(fastpath::Stop::Error(message)) => return Err(self.runtime_error(message)),
                Err(fastpath::Stop::Defer) => {}
            }
        }
        self.first_interpreted(input)
    }

    /// The first output computed by jaq, never by the native evaluator.
    fn first_interpreted(&self, input: &JqInput<'_>) -> Result<Option<Value>, JqError> {
        match &self.inner.projection {
            Some(projection) => self.first_val(projection.project(input.json)),
            None => self.first_val(input.val()),
        }
    }

    /// All outputs, up to the first error (which is returned instead).
    pub fn all(&self, input: &Value) -> Result<Vec<Value>, JqError> {
        self.all_on(&JqInput::new(input))
    }

    /// All outputs on an already converted input.
    pub fn all_on(&self, input: &JqInput<'_>) -> Result<Vec<Value>, JqError> {
        // The natively evaluated subset never yields more than one output.
        if let Some(fast) = &self.inner.fast_path {
            match fast.eval(input.json) {
                Ok(out) => return Ok(out.into_iter().collect()),
                Err(fastpath::Stop::Error(message)) => return Err(self.runtime_error(message)),
                Err(fastpath::Stop::Defer) => {}
            }
        }
        self.all_interpreted(input)
    }

    /// All outputs computed by jaq, never by the native evaluator.
    fn all_interpreted(&self, input: &JqInput<'_>) -> Result<Vec<Value>, JqError> {
        let _scope = stack::EvalScope::enter();
        let vars = self.vars();
        let ctx = Ctx::<Data>::new(&self.inner.filter.lut, Vars::new(vars));
        let mut out = Vec::new();
        for item in self.inner.filter.id.run((ctx, input.val())) {
            let val = item.map_err(|e| self.exn_error(e))?;
            out.push(self.to_json(&val)?);
        }
        Ok(out)
    }

    fn first_val(&self, input: Val) -> Result<Option<Value>, JqError> {
        let _scope = stack::EvalScope::enter();
        let vars = self.vars();
        let ctx = Ctx::<Data>::new(&self.inner.filter.lut, Vars::new(vars));
        let mut outputs = self.inner.filter.id.run((ctx, input));
        match outputs.next() {
            None => Ok(None),
            Some(Ok(val)) => self.to_json(&val).map(Some),
            Some(Err(e)) => Err(self.exn_error(e)),
        }
    }

    fn vars(&self) -> Vec<Val> {
        match &self.inner.env {
            None => Vec::new(),
            Some(env) => {
                let mut map =
                    jaq_json::Map::with_capacity_and_hasher(env.len(), Default::default());
                for (k, v) in env {
                    map.insert(Val::from(k.clone()), Val::from(v.clone()));
                }
                vec![Val::obj(map)]
            }
        }
    }

    fn to_json(&self, val: &Val) -> Result<Value, JqError> {
        value::from_val(val).map_err(|_| JqError::OutputTooDeep {
            expr: self.inner.source.clone(),
            max_depth: value::MAX_OUTPUT_DEPTH,
        })
    }

    fn runtime_error(&self, message: String) -> JqError {
        JqError::Runtime {
            expr: self.inner.source.clone(),
            message,
        }
    }

    fn exn_error(&self, e: jaq_core::Exn<'_, Val>) -> JqError {
        let message = match e.get_err() {
            Ok(err) => error_text(&err),
            // `halt` must not end the process hosting the mappings.
            Err(exn) => match exn.get_halt() {
                Ok(code) => format!("halt({code}) is not allowed in a mapping"),
                Err(_) => "internal control flow escaped the program".to_owned(),
            },
        };
        JqError::Runtime {
            expr: self.inner.source.clone(),
            message,
        }
    }
}

/// The text of a jq error: the message of `error("...")`, else jaq's description.
fn error_text(err: &jaq_core::Error<Val>) -> String {
    let val = err.clone().into_val();
    match &val {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        other => value::to_jq_string(other),
    }
}

/// Compiles jq programs with jq 1.8 semantics and caches them by source.
pub struct JqEngine {
    options: JqOptions,
    prelude: OnceLock<Result<Vec<Def<&'static str>>, String>>,
    cache: Mutex<HashMap<String, Result<JqProgram, JqError>>>,
}

impl std::fmt::Debug for JqEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JqEngine")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Default for JqEngine {
    fn default() -> Self {
        Self::new(JqOptions::default())
    }
}

fn parse_defs(code: &'static str, what: &str) -> Result<Vec<Def<&'static str>>, String> {
    jaq_core::load::parse(code, |p| p.defs()).ok_or_else(|| format!("the {what} does not parse"))
}

impl JqEngine {
    /// A new engine.
    pub fn new(options: JqOptions) -> Self {
        Self {
            options,
            prelude: OnceLock::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The options this engine compiles with.
    pub fn options(&self) -> JqOptions {
        self.options
    }

    fn prelude(&self) -> Result<&[Def<&'static str>], String> {
        let built = self.prelude.get_or_init(|| {
            let mut defs: Vec<Def<&'static str>> = jaq_core::defs()
                .chain(jaq_std::defs())
                .chain(jaq_json::defs())
                .collect();
            defs.extend(parse_defs(PRELUDE, "compat prelude")?);
            if !self.options.allow_env {
                defs.extend(parse_defs(NO_ENV_PRELUDE, "environment prelude")?);
            }
            Ok(defs.into_iter().map(rewrite::guard_recursion).collect())
        });
        built.as_deref().map_err(Clone::clone)
    }

    /// Compiles `expr` (after Ocean's single-quote rewrite), or returns the cached program.
    pub fn compile(&self, expr: &str) -> Result<JqProgram, JqError> {
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.get(expr)
        {
            return hit.clone();
        }
        let compiled = self.compile_uncached(expr);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(expr.to_owned(), compiled.clone());
        }
        compiled
    }

    fn compile_uncached(&self, expr: &str) -> Result<JqProgram, JqError> {
        let fail = |message: String| JqError::Compile {
            expr: expr.to_owned(),
            message,
        };
        let code = rewrite_single_quotes(expr);
        let code = alternatives::desugar(&code).unwrap_or(code);
        let depth = rewrite::nesting_depth(&code);
        if depth > rewrite::MAX_NESTING {
            return Err(fail(format!(
                "brackets nested {depth} deep, more than the {} accepted",
                rewrite::MAX_NESTING
            )));
        }
        let prelude = self.prelude().map_err(fail)?;

        let tokens = Lexer::new(code.as_str())
            .lex()
            .map_err(|errs| fail(lex_errors(&errs, &code)))?;
        let operators = operator_count(&tokens);
        if operators > MAX_OPERATORS {
            return Err(fail(format!(
                "{operators} operators, more than the {MAX_OPERATORS} accepted (a chain that long would exhaust the stack)"
            )));
        }
        let term: Term<&str> = Parser::new(&tokens)
            .parse(|p| p.term())
            .map_err(|errs| fail(parse_errors(&errs, &code)))?;
        let constant = rewrite::is_constant(&term);
        let fast_path = fastpath::FastPath::of(&term);
        let projection = fastpath::Projection::of(&term);

        let arena = Arena::default();
        let mut rewriter = rewrite::Rewriter::new(code.as_str(), &arena);
        let term = rewriter.term(term);
        let uses_env = rewriter.uses_env;
        let main = rewrite::guard_recursion(Def {
            name: "__ocean_main",
            args: Vec::new(),
            body: term,
        });

        let defs = prelude.iter().cloned().chain(std::iter::once(main));
        let modules = Loader::new(defs)
            .load(
                &arena,
                File {
                    code: "__ocean_main",
                    path: (),
                },
            )
            .map_err(|errs| fail(format!("{} load error(s)", errs.len())))?;
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs())
            .chain(natives::funs());
        let globals: Vec<&str> = if uses_env { vec!["$ENV"] } else { Vec::new() };
        let filter = Compiler::default()
            .with_funs(funs)
            .with_global_vars(globals)
            .compile(modules)
            .map_err(|errs| {
                let names: Vec<String> = errs
                    .iter()
                    .flat_map(|(_, es)| es.iter())
                    .map(|(name, undef)| match undef {
                        jaq_core::compile::Undefined::Filter(arity) => {
                            format!("{name}/{arity} is not defined")
                        }
                        other => format!("{} {name} is not defined", other.as_str()),
                    })
                    .collect();
                fail(names.join("; "))
            })?;

        let env = uses_env.then(|| {
            if self.options.allow_env {
                std::env::vars().collect()
            } else {
                Vec::new()
            }
        });
        let mut program = JqProgram {
            inner: Arc::new(ProgramInner {
                source: expr.to_owned(),
                filter,
                env,
                constant: None,
                fast_path,
                projection,
            }),
        };
        if constant {
            let result = program.first_val(Val::Null);
            if let Some(inner) = Arc::get_mut(&mut program.inner) {
                inner.constant = Some(result);
            }
        }
        Ok(program)
    }
}

fn lex_errors(errs: &[jaq_core::load::lex::Error<&str>], code: &str) -> String {
    use jaq_core::load::lex::Expect;
    errs.iter()
        .map(|(expect, found)| {
            let expected = match expect {
                Expect::Digit => "digit",
                Expect::Ident => "identifier",
                Expect::Delim(d) => match *d {
                    "(" => "closing parenthesis",
                    "[" => "closing bracket",
                    "{" => "closing brace",
                    _ => "closing quote",
                },
                Expect::Escape => "string escape sequence",
                Expect::Unicode => "4-digit hexadecimal code point",
                _ => "token",
            };
            format!("expected {expected} at column {}", column(code, found))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn parse_errors(errs: &[jaq_core::load::parse::TError<'_, &str>], code: &str) -> String {
    errs.iter()
        .map(|(expect, found)| match found {
            Some(token) => format!(
                "expected {} but found `{}` at column {}",
                expect.as_str(),
                token.as_str(),
                column(code, token.as_str())
            ),
            None => format!("expected {} but the expression ended", expect.as_str()),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// 1-based character column of `part` (a slice of `code`), or the end.
fn column(code: &str, part: &str) -> usize {
    let start = part.as_ptr() as usize;
    let base = code.as_ptr() as usize;
    let offset = if start >= base && start <= base + code.len() {
        start - base
    } else {
        code.len()
    };
    code.get(..offset).map_or(offset, |s| s.chars().count()) + 1
}

/// Runs `f` on a dedicated thread pool whose threads have large stacks and a matching
/// recursion budget (the mapping pool).
pub(crate) fn mapping_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("ocean-mapping-{i}"))
            .stack_size(16 * 1024 * 1024)
            .start_handler(|_| stack::set_budget(12 * 1024 * 1024))
            .build()
            .ok()
    })
    .as_ref()
}

/// Most binary operators (`|`, `,`, arithmetic, comparisons, `and`, `or`, `//`, updates) one
/// expression may hold. The parsed tree nests once per operator of a chain, and jaq's compiler
/// recurses over it: a chain of 300 exhausts a 2 MiB thread stack in a debug build (about a
/// thousand in a release build). Real mappings use a few dozen.
pub(crate) const MAX_OPERATORS: usize = 150;

/// The binary operators among `tokens`, blocks and string interpolations included.
fn operator_count(tokens: &[Token<&str>]) -> usize {
    tokens
        .iter()
        .map(|Token(text, tok)| match tok {
            Tok::Sym => usize::from(matches!(
                *text,
                "|" | ","
                    | "+"
                    | "-"
                    | "*"
                    | "/"
                    | "%"
                    | "//"
                    | "=="
                    | "!="
                    | "<"
                    | "<="
                    | ">"
                    | ">="
                    | "="
                    | "|="
                    | "+="
                    | "-="
                    | "*="
                    | "/="
                    | "%="
                    | "//="
                    | "?//"
            )),
            Tok::Word => usize::from(matches!(*text, "and" | "or")),
            Tok::Block(inner) => operator_count(inner),
            Tok::Str(parts) => parts
                .iter()
                .map(|part| match part {
                    jaq_core::load::lex::StrPart::Term(Token(_, Tok::Block(inner))) => {
                        operator_count(inner)
                    }
                    _ => 0,
                })
                .sum(),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests;
