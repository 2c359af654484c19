//! The attribute's arguments: `#[strand::test(start_paused = true, crate = "path")]`.

use proc_macro::{Ident, Punct, Spacing, Span, TokenStream, TokenTree};

use crate::error::Error;
use crate::Kind;

/// The options of one attribute, with their defaults filled in.
#[derive(Debug)]
pub(crate) struct Options {
    /// The path to the `strand` facade (`::strand` unless `crate = "..."`), spanned at the
    /// user's string so a wrong path is reported there.
    pub(crate) krate: TokenStream,
    /// `start_paused = true` (tests only).
    pub(crate) start_paused: bool,
}

/// Parses `args`. Every problem is collected in `errors` (each spanned at the offending
/// token) and the faulty option is left at its default, so the function is still expanded.
pub(crate) fn parse(args: TokenStream, kind: Kind, errors: &mut Vec<Error>) -> Options {
    let mut options = Options {
        krate: default_crate_path(),
        start_paused: false,
    };
    let mut seen: Vec<String> = Vec::new();
    let tokens: Vec<TokenTree> = args.into_iter().collect();

    for segment in split_on_commas(&tokens, errors) {
        let key = match segment.first() {
            Some(TokenTree::Ident(key)) => key,
            _ => {
                errors.push(Error::over(
                    &segment,
                    format!("expected an option name; {}", kind.accepted_options()),
                ));
                continue;
            }
        };
        let key_name = key.to_string();
        let known = match key_name.as_str() {
            "crate" => true,
            "start_paused" => kind == Kind::Test,
            _ => false,
        };
        if !known {
            errors.push(Error::new(
                key.span(),
                unknown_option_message(&key_name, kind),
            ));
            continue;
        }
        if seen.contains(&key_name) {
            errors.push(Error::new(
                key.span(),
                format!("duplicate option `{key_name}`: each option may be given once"),
            ));
            continue;
        }
        seen.push(key_name.clone());

        let value = match (segment.get(1), segment.get(2)) {
            (Some(TokenTree::Punct(eq)), Some(value))
                if eq.as_char() == '=' && eq.spacing() == Spacing::Alone =>
            {
                value
            }
            (Some(TokenTree::Punct(eq)), None) if eq.as_char() == '=' => {
                errors.push(Error::new(
                    eq.span(),
                    format!("expected a value after `{key_name} =`"),
                ));
                continue;
            }
            _ => {
                errors.push(Error::over(
                    &segment,
                    format!("expected `{key_name} = {}`", example_value(&key_name)),
                ));
                continue;
            }
        };
        if segment.len() > 3 {
            errors.push(Error::over(
                &segment[2..],
                format!(
                    "expected a single value for `{key_name}`, like `{key_name} = {}`",
                    example_value(&key_name)
                ),
            ));
            continue;
        }

        match key_name.as_str() {
            "start_paused" => match value {
                TokenTree::Ident(b) if b.to_string() == "true" => options.start_paused = true,
                TokenTree::Ident(b) if b.to_string() == "false" => options.start_paused = false,
                other => errors.push(Error::new(
                    other.span(),
                    "`start_paused` takes a boolean: `start_paused = true` or `start_paused = false`",
                )),
            },
            "crate" => match crate_path(value) {
                Ok(path) => options.krate = path,
                Err(e) => errors.push(e),
            },
            _ => unreachable!("only known options get here"),
        }
    }
    options
}

/// `::strand`, the facade as seen from a crate that depends on it under its own name.
fn default_crate_path() -> TokenStream {
    let span = Span::call_site();
    [
        TokenTree::Punct(Punct::new(':', Spacing::Joint)),
        TokenTree::Punct(Punct::new(':', Spacing::Alone)),
        TokenTree::Ident(Ident::new("strand", span)),
    ]
    .into_iter()
    .collect()
}

/// Splits the arguments on top-level commas; a trailing comma is fine, an empty option is not.
fn split_on_commas(tokens: &[TokenTree], errors: &mut Vec<Error>) -> Vec<Vec<TokenTree>> {
    let mut segments = Vec::new();
    let mut current = Vec::new();
    for tt in tokens {
        match tt {
            TokenTree::Punct(p) if p.as_char() == ',' => {
                if current.is_empty() {
                    errors.push(Error::new(p.span(), "expected an option before `,`"));
                } else {
                    segments.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(tt.clone()),
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

fn unknown_option_message(name: &str, kind: Kind) -> String {
    let hint = match (name, kind) {
        ("start_paused", Kind::Main) => {
            " (`start_paused` is only for tests: use `#[strand::test(start_paused = true)]`, \
             or `strand::time::pause()` in `main`)"
        }
        ("flavor" | "worker_threads", _) => {
            " (a strand runtime is single-threaded; run one runtime per thread to use more cores)"
        }
        _ => "",
    };
    format!("unknown option `{name}`; {}{hint}", kind.accepted_options())
}

fn example_value(key: &str) -> &'static str {
    match key {
        "start_paused" => "true",
        _ => "\"strand\"",
    }
}

/// Turns the string of `crate = "..."` into a path, every token spanned at the string.
fn crate_path(value: &TokenTree) -> Result<TokenStream, Error> {
    let wrong_type = || {
        Error::new(
            value.span(),
            "`crate` takes a path in a string literal, like `crate = \"strand\"` or \
             `crate = \"::my_crate::strand\"`",
        )
    };
    let lit = match value {
        TokenTree::Literal(lit) => lit,
        _ => return Err(wrong_type()),
    };
    let text = string_literal_contents(&lit.to_string()).ok_or_else(wrong_type)?;
    let invalid = || {
        Error::new(
            lit.span(),
            format!(
                "`{text}` is not a path: expected something like `strand` or `::my_crate::strand`"
            ),
        )
    };
    let parsed: TokenStream = text.trim().parse().map_err(|_| invalid())?;
    let tokens: Vec<TokenTree> = parsed.into_iter().collect();

    // `::`? ident (`::` ident)*
    let mut i = 0;
    let mut expect_ident = true;
    if is_path_sep(&tokens, 0) {
        i = 2;
    }
    while i < tokens.len() {
        if expect_ident {
            match &tokens[i] {
                TokenTree::Ident(_) => i += 1,
                _ => return Err(invalid()),
            }
        } else if is_path_sep(&tokens, i) {
            i += 2;
        } else {
            return Err(invalid());
        }
        expect_ident = !expect_ident;
    }
    if expect_ident {
        // Empty, or ending in `::`.
        return Err(invalid());
    }

    Ok(tokens
        .into_iter()
        .map(|mut tt| {
            tt.set_span(lit.span());
            tt
        })
        .collect())
}

fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    matches!(
        (tokens.get(i), tokens.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
    )
}

/// The contents of a plain (`"..."`) or raw (`r"..."`, `r#"..."#`) string literal without
/// escapes; `None` for anything else (numbers, byte strings, strings with escapes).
fn string_literal_contents(repr: &str) -> Option<String> {
    let body = if let Some(raw) = repr.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let raw = &raw[hashes..raw.len().checked_sub(hashes)?];
        raw.strip_prefix('"')?.strip_suffix('"')?
    } else {
        let body = repr.strip_prefix('"')?.strip_suffix('"')?;
        if body.contains('\\') {
            return None;
        }
        body
    };
    Some(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::string_literal_contents;

    #[test]
    fn plain_and_raw_strings_are_read() {
        assert_eq!(
            string_literal_contents(r#""strand""#).as_deref(),
            Some("strand")
        );
        assert_eq!(
            string_literal_contents(r#""::a::b""#).as_deref(),
            Some("::a::b")
        );
        assert_eq!(
            string_literal_contents(r#"r"strand""#).as_deref(),
            Some("strand")
        );
        assert_eq!(
            string_literal_contents(r##"r#"strand"#"##).as_deref(),
            Some("strand")
        );
        assert_eq!(string_literal_contents(r#""""#).as_deref(), Some(""));
    }

    #[test]
    fn other_literals_are_refused() {
        for repr in [
            "5",
            "true",
            r#"b"strand""#,
            r#"c"strand""#,
            r#""a\nb""#,
            "'s'",
            r#""strand"suffix"#,
            r#"br"x""#,
        ] {
            assert_eq!(string_literal_contents(repr), None, "{repr}");
        }
    }
}
