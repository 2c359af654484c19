//! Code generation for both attributes.
//!
//! A correct `async fn` becomes a plain `fn` with the same attributes, visibility, name,
//! parameters and return type, whose body builds a runtime and `block_on`s the original body
//! as an `async move` block:
//!
//! ```text
//! #[attrs] fn main() -> R {
//!     let __body = async move { /* original body */ };
//!     ::strand::runtime::Runtime::builder()
//!         .build()
//!         .expect("failed to build the strand runtime")
//!         .block_on(__body)
//! }
//! ```
//!
//! On misuse the expansion still emits the function (see [`fallback`]) next to one
//! `compile_error!` per problem, each spanned at the offending tokens.

use proc_macro::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};

use crate::error::Error;
use crate::item::{split_inner_attributes, ItemFn};
use crate::options::{self, Options};
use crate::Kind;

/// Expands `#[strand::main]` or `#[strand::test]` (per `kind`) applied to `item`.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    let options = options::parse(args, kind, &mut errors);

    let mut out = TokenStream::new();
    match ItemFn::parse(item.clone(), kind.attribute()) {
        Ok(mut function) => {
            let signature_ok = check_signature(&mut function, kind, &mut errors);
            out.extend(errors.iter().map(Error::to_compile_error));
            if signature_ok {
                out.extend(expand_fn(&function, kind, &options));
            } else {
                out.extend(fallback(&function, kind));
            }
        }
        Err(not_a_function) => {
            errors.push(not_a_function);
            out.extend(errors.iter().map(Error::to_compile_error));
            out.extend(item);
        }
    }
    out
}

/// Records every signature problem. Returns false when the signature cannot be expanded as
/// written (the caller then emits [`fallback`]); a repeated `#[test]` is removed and reported
/// without blocking the expansion.
fn check_signature(function: &mut ItemFn, kind: Kind, errors: &mut Vec<Error>) -> bool {
    let mut ok = true;
    let attribute = kind.attribute();

    if function.asyncness.is_none() {
        errors.push(Error::new(
            function.fn_token.span(),
            format!("`#[{attribute}]` needs an `async fn`: add `async` before `fn`"),
        ));
        ok = false;
    }

    if !function.generics.is_empty() {
        let message = match kind {
            Kind::Main => format!("`#[{attribute}]` functions cannot have generic parameters"),
            Kind::Test => "test functions cannot have generic parameters".to_string(),
        };
        errors.push(Error::over(&function.generics, message));
        ok = false;
    }

    let params: Vec<TokenTree> = function.params.stream().into_iter().collect();
    if !params.is_empty() {
        let message = match kind {
            Kind::Test => Some("test functions cannot take arguments"),
            Kind::Main if function.name.to_string() == "main" => {
                Some("the `main` function cannot take arguments")
            }
            // `#[strand::main]` on another function makes a blocking wrapper that keeps its
            // parameters, as tokio's does.
            Kind::Main => None,
        };
        if let Some(message) = message {
            errors.push(Error::over(&params, message));
            ok = false;
        }
    }

    if kind == Kind::Test {
        function.attrs.retain(|attr| {
            if attr.is_test() {
                errors.push(Error::spanning(
                    attr.pound.span(),
                    attr.group.span(),
                    "a second test attribute: `#[strand::test]` already makes this a `#[test]`; \
                     remove this one",
                ));
            }
            !attr.is_test()
        });
    }

    ok
}

/// The expansion of a well-formed function.
fn expand_fn(function: &ItemFn, kind: Kind, options: &Options) -> TokenStream {
    let mut out = TokenStream::new();
    if kind == Kind::Test {
        out.extend(test_attribute());
    }
    for attr in &function.attrs {
        out.extend(attr.tokens());
    }
    out.extend(function.vis.iter().cloned());
    out.extend(function.qualifiers.iter().cloned());
    out.extend([
        TokenTree::Ident(function.fn_token.clone()),
        TokenTree::Ident(function.name.clone()),
        TokenTree::Group(function.params.clone()),
    ]);
    out.extend(function.ret.iter().cloned());
    out.extend(function.where_clause.iter().cloned());

    let (inner_attrs, body) = split_inner_attributes(&function.body);
    let builder = runtime_builder(kind, options);
    let block = template(
        "$inner_attrs
         let __body = async move $body;
         $builder
             .build()
             .expect(\"failed to build the strand runtime\")
             .block_on(__body)",
        &|name| match name {
            "inner_attrs" => inner_attrs.clone(),
            "body" => TokenTree::Group(body.clone()).into(),
            "builder" => builder.clone(),
            _ => unreachable!("unknown template variable ${name}"),
        },
    );
    let mut block = Group::new(Delimiter::Brace, block);
    block.set_span(function.body.span());
    out.extend([TokenTree::Group(block)]);
    out
}

/// The runtime builder for one expansion: `$krate::runtime::Runtime::builder()` plus setters.
///
/// This is the single place that decides how a `#[strand::main]` or `#[strand::test]`
/// runtime is configured. The expansion uses only the public builder, so a future setter
/// (for example the hang / deadlock detection that should fail a `#[strand::test]` instead of
/// letting it hang) is one more line here under `Kind::Test`.
fn runtime_builder(kind: Kind, options: &Options) -> TokenStream {
    let mut setters = String::new();
    match kind {
        Kind::Main => {}
        Kind::Test => {
            if options.start_paused {
                setters.push_str(".start_paused(true)");
            }
            // A test that deadlocks or hangs fails at once with the report instead of waiting
            // forever (the runtime panics out of `block_on`).
            setters.push_str(".fail_on_deadlock(true)");
        }
    }
    template(
        &format!("$krate::runtime::Runtime::builder(){setters}"),
        &|name| match name {
            "krate" => options.krate.clone(),
            _ => unreachable!("unknown template variable ${name}"),
        },
    )
}

/// What a misused attribute still emits, so editors keep seeing (and checking) the function
/// without a second wave of errors: a plain `fn name()` (so a misused `main` is still a valid
/// entry point, and a misused test is still a valid `#[test]`) holding the function exactly as
/// written, as an unused nested item.
fn fallback(function: &ItemFn, kind: Kind) -> TokenStream {
    let mut out = TokenStream::new();
    if kind == Kind::Test {
        out.extend(test_attribute());
    }
    for attr in &function.attrs {
        out.extend(attr.tokens());
    }
    out.extend(function.vis.iter().cloned());
    out.extend([
        TokenTree::Ident(function.fn_token.clone()),
        TokenTree::Ident(function.name.clone()),
        TokenTree::Group(Group::new(Delimiter::Parenthesis, TokenStream::new())),
    ]);
    let original = function.original_without_attrs();
    let block = template("#[allow(unused)] $original", &|name| match name {
        "original" => original.clone(),
        _ => unreachable!("unknown template variable ${name}"),
    });
    let mut block = Group::new(Delimiter::Brace, block);
    block.set_span(function.body.span());
    out.extend([TokenTree::Group(block)]);
    out
}

/// `#[::core::prelude::v1::test]`: the built-in test attribute, by a path that a user's own
/// `test` item cannot shadow.
fn test_attribute() -> TokenStream {
    template("#[::core::prelude::v1::test]", &|_| unreachable!())
}

/// Parses `src` and replaces each `$name` by `subst(name)`. Identifiers starting with `__` get
/// [`Span::mixed_site`], so the expansion's own locals never clash with the user's names.
fn template(src: &str, subst: &dyn Fn(&str) -> TokenStream) -> TokenStream {
    let parsed: TokenStream = src.parse().expect("templates are valid token streams");
    substitute(parsed, subst)
}

fn substitute(tokens: TokenStream, subst: &dyn Fn(&str) -> TokenStream) -> TokenStream {
    let mut out = TokenStream::new();
    let mut iter = tokens.into_iter().peekable();
    while let Some(tt) = iter.next() {
        match tt {
            TokenTree::Punct(p) if p.as_char() == '$' => match iter.next() {
                Some(TokenTree::Ident(name)) => out.extend(subst(&name.to_string())),
                _ => unreachable!("`$` in a template is followed by a variable name"),
            },
            TokenTree::Ident(ident) if ident.to_string().starts_with("__") => {
                out.extend([TokenTree::Ident(Ident::new(
                    &ident.to_string(),
                    Span::mixed_site(),
                ))]);
            }
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), substitute(g.stream(), subst));
                group.set_span(g.span());
                out.extend([TokenTree::Group(group)]);
            }
            other => out.extend([other]),
        }
    }
    out
}
