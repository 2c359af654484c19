//! Spanned compile errors, turned into `compile_error!` invocations.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// One error the macro reports, covering the source from `start` to `end`.
#[derive(Debug)]
pub(crate) struct Error {
    message: String,
    start: Span,
    end: Span,
}

impl Error {
    /// An error on a single token.
    pub(crate) fn new(span: Span, message: impl Into<String>) -> Error {
        Error::spanning(span, span, message)
    }

    /// An error covering the source from `start` to `end` (inclusive).
    pub(crate) fn spanning(start: Span, end: Span, message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            start,
            end,
        }
    }

    /// An error covering a run of tokens (the call site when `tokens` is empty).
    pub(crate) fn over(tokens: &[TokenTree], message: impl Into<String>) -> Error {
        match (tokens.first(), tokens.last()) {
            (Some(first), Some(last)) => Error::spanning(first.span(), last.span(), message),
            _ => Error::new(Span::call_site(), message),
        }
    }

    /// `::core::compile_error! { "message" }`, usable in item position.
    ///
    /// Stable `proc_macro` cannot join spans, so this uses the usual trick: the path carries
    /// the start span and the braces carry the end span; rustc reports the invocation's span,
    /// which then runs from `start` to `end` when both are in the same file.
    pub(crate) fn to_compile_error(&self) -> TokenStream {
        let at_start = |mut tt: TokenTree| {
            tt.set_span(self.start);
            tt
        };
        let mut message = Literal::string(&self.message);
        message.set_span(self.end);
        let mut braces = Group::new(
            Delimiter::Brace,
            TokenStream::from(TokenTree::Literal(message)),
        );
        braces.set_span(self.end);
        [
            at_start(Punct::new(':', Spacing::Joint).into()),
            at_start(Punct::new(':', Spacing::Alone).into()),
            at_start(Ident::new("core", self.start).into()),
            at_start(Punct::new(':', Spacing::Joint).into()),
            at_start(Punct::new(':', Spacing::Alone).into()),
            at_start(Ident::new("compile_error", self.start).into()),
            at_start(Punct::new('!', Spacing::Alone).into()),
            TokenTree::Group(braces),
        ]
        .into_iter()
        .collect()
    }
}
