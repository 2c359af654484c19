//! Splitting a function item into the parts the expansion rearranges.
//!
//! This is not a Rust parser: it only finds the boundaries the macros need (attributes,
//! qualifiers, `fn`, name, generics, parameters, return type, `where` clause, body) and keeps
//! every token as written, with its span, so rustc still reports type errors in user code.

use proc_macro::{Delimiter, Group, Ident, Spacing, Span, TokenStream, TokenTree};

use crate::error::Error;

/// A function item split at the places the expansion needs.
#[derive(Debug)]
pub(crate) struct ItemFn {
    /// Outer attributes, each a `#` followed by a `[...]` group.
    pub(crate) attrs: Vec<Attribute>,
    /// `pub`, `pub(crate)`, ... (empty when private).
    pub(crate) vis: Vec<TokenTree>,
    /// `const`, `unsafe`, `extern "C"`, ... in order, without `async`.
    pub(crate) qualifiers: Vec<TokenTree>,
    /// The `async` keyword, when present.
    pub(crate) asyncness: Option<Ident>,
    /// The `fn` keyword.
    pub(crate) fn_token: Ident,
    /// The function's name.
    pub(crate) name: Ident,
    /// `<...>` including the angle brackets (empty when not generic).
    pub(crate) generics: Vec<TokenTree>,
    /// The parenthesised parameter list.
    pub(crate) params: Group,
    /// `-> Type` including the arrow (empty for `()`).
    pub(crate) ret: Vec<TokenTree>,
    /// `where ...` (empty when absent).
    pub(crate) where_clause: Vec<TokenTree>,
    /// The `{ ... }` body.
    pub(crate) body: Group,
}

/// One outer attribute: `#` and its bracketed group.
#[derive(Debug, Clone)]
pub(crate) struct Attribute {
    pub(crate) pound: TokenTree,
    pub(crate) group: Group,
}

impl Attribute {
    /// The attribute as tokens.
    pub(crate) fn tokens(&self) -> [TokenTree; 2] {
        [self.pound.clone(), TokenTree::Group(self.group.clone())]
    }

    /// Whether this is exactly `#[test]` (any path ending in a lone `test` with no arguments
    /// is treated the same: `#[core::prelude::v1::test]` adds a test too).
    pub(crate) fn is_test(&self) -> bool {
        let tokens: Vec<TokenTree> = self.group.stream().into_iter().collect();
        match tokens.last() {
            Some(TokenTree::Ident(last)) if last.to_string() == "test" => tokens
                .iter()
                .all(|tt| matches!(tt, TokenTree::Ident(_) | TokenTree::Punct(_))),
            _ => false,
        }
    }
}

impl ItemFn {
    /// Splits `item`, or says (spanned) why it is not a function this macro can take.
    pub(crate) fn parse(item: TokenStream, macro_name: &str) -> Result<ItemFn, Error> {
        let tokens: Vec<TokenTree> = item.into_iter().collect();
        let mut i = 0;

        let mut attrs = Vec::new();
        while let (Some(TokenTree::Punct(p)), Some(TokenTree::Group(g))) =
            (tokens.get(i), tokens.get(i + 1))
        {
            if p.as_char() != '#' || g.delimiter() != Delimiter::Bracket {
                break;
            }
            attrs.push(Attribute {
                pound: tokens[i].clone(),
                group: g.clone(),
            });
            i += 2;
        }

        let mut vis = Vec::new();
        if is_ident(tokens.get(i), "pub") {
            vis.push(tokens[i].clone());
            i += 1;
            if let Some(TokenTree::Group(g)) = tokens.get(i) {
                if g.delimiter() == Delimiter::Parenthesis {
                    vis.push(tokens[i].clone());
                    i += 1;
                }
            }
        }

        let not_a_fn = |span: Span| {
            Error::new(
                span,
                format!("`#[{macro_name}]` can only be applied to an `async fn`"),
            )
        };

        let mut qualifiers = Vec::new();
        let mut asyncness = None;
        let fn_token = loop {
            match tokens.get(i) {
                Some(TokenTree::Ident(ident)) => {
                    let word = ident.to_string();
                    i += 1;
                    match word.as_str() {
                        "fn" => break ident.clone(),
                        "async" => asyncness = Some(ident.clone()),
                        "const" | "unsafe" | "extern" | "default" | "safe" => {
                            qualifiers.push(TokenTree::Ident(ident.clone()))
                        }
                        _ => return Err(not_a_fn(ident.span())),
                    }
                }
                // The ABI string of `extern "C"`.
                Some(TokenTree::Literal(lit)) if !qualifiers.is_empty() => {
                    qualifiers.push(TokenTree::Literal(lit.clone()));
                    i += 1;
                }
                Some(other) => return Err(not_a_fn(other.span())),
                None => return Err(not_a_fn(Span::call_site())),
            }
        };

        let name = match tokens.get(i) {
            Some(TokenTree::Ident(name)) => name.clone(),
            other => return Err(not_a_fn(span_or_call_site(other))),
        };
        i += 1;

        let mut generics = Vec::new();
        if is_punct(tokens.get(i), '<') {
            let mut depth = 0usize;
            let mut after_minus = false;
            while let Some(tt) = tokens.get(i) {
                generics.push(tt.clone());
                i += 1;
                if let TokenTree::Punct(p) = tt {
                    match p.as_char() {
                        '<' => depth += 1,
                        // `->` inside generics (`F: Fn() -> T`) closes nothing.
                        '>' if !after_minus => depth -= 1,
                        _ => {}
                    }
                    after_minus = p.as_char() == '-' && p.spacing() == Spacing::Joint;
                } else {
                    after_minus = false;
                }
                if depth == 0 {
                    break;
                }
            }
        }

        let params = match tokens.get(i) {
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => g.clone(),
            other => return Err(not_a_fn(span_or_call_site(other))),
        };
        i += 1;

        // The body is the last token; the return type and `where` clause sit before it.
        let body = match tokens.last() {
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace && i < tokens.len() => {
                g.clone()
            }
            other => {
                return Err(Error::new(
                    span_or_call_site(other),
                    format!("`#[{macro_name}]` needs a function with a body"),
                ))
            }
        };
        let between = &tokens[i..tokens.len() - 1];
        let where_at = between
            .iter()
            .position(|tt| is_ident(Some(tt), "where"))
            .unwrap_or(between.len());
        let ret = between[..where_at].to_vec();
        let where_clause = between[where_at..].to_vec();
        let arrow = is_punct(ret.first(), '-') && is_punct(ret.get(1), '>');
        if !ret.is_empty() && !arrow {
            return Err(Error::over(
                &ret,
                "expected `->`, `where` or the function body",
            ));
        }

        Ok(ItemFn {
            attrs,
            vis,
            qualifiers,
            asyncness,
            fn_token,
            name,
            generics,
            params,
            ret,
            where_clause,
            body,
        })
    }

    /// The function exactly as written, minus its outer attributes.
    pub(crate) fn original_without_attrs(&self) -> TokenStream {
        let mut out = TokenStream::new();
        out.extend(self.vis.iter().cloned());
        out.extend(self.qualifiers.iter().cloned());
        out.extend(self.asyncness.clone().map(TokenTree::Ident));
        out.extend([
            TokenTree::Ident(self.fn_token.clone()),
            TokenTree::Ident(self.name.clone()),
        ]);
        out.extend(self.generics.iter().cloned());
        out.extend([TokenTree::Group(self.params.clone())]);
        out.extend(self.ret.iter().cloned());
        out.extend(self.where_clause.iter().cloned());
        out.extend([TokenTree::Group(self.body.clone())]);
        out
    }
}

/// Splits leading inner attributes (`#![...]`) off a body: they must stay at the top of the
/// generated function instead of moving into the `async` block.
pub(crate) fn split_inner_attributes(body: &Group) -> (TokenStream, Group) {
    let tokens: Vec<TokenTree> = body.stream().into_iter().collect();
    let mut i = 0;
    while is_punct(tokens.get(i), '#') && is_punct(tokens.get(i + 1), '!') {
        match tokens.get(i + 2) {
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Bracket => i += 3,
            _ => break,
        }
    }
    if i == 0 {
        return (TokenStream::new(), body.clone());
    }
    let inner = tokens[..i].iter().cloned().collect();
    let mut rest = Group::new(Delimiter::Brace, tokens[i..].iter().cloned().collect());
    rest.set_span(body.span());
    (inner, rest)
}

pub(crate) fn is_ident(tt: Option<&TokenTree>, word: &str) -> bool {
    matches!(tt, Some(TokenTree::Ident(ident)) if ident.to_string() == word)
}

pub(crate) fn is_punct(tt: Option<&TokenTree>, ch: char) -> bool {
    matches!(tt, Some(TokenTree::Punct(p)) if p.as_char() == ch)
}

fn span_or_call_site(tt: Option<&TokenTree>) -> Span {
    tt.map_or_else(Span::call_site, TokenTree::span)
}
