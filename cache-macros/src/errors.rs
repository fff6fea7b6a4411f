//! Errors collected across parsing and validation, reported together.

use proc_macro2::TokenStream;

/// Every error found for one attribute, in the order found.
#[derive(Default)]
pub(crate) struct Errors(Vec<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.0.push(error);
    }

    pub(crate) fn extend(&mut self, errors: impl IntoIterator<Item = syn::Error>) {
        self.0.extend(errors);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Moves every error of `other` into this list.
    pub(crate) fn append(&mut self, other: Errors) {
        self.0.extend(other.0);
    }

    /// One `compile_error!` per error, each on its own span.
    pub(crate) fn to_compile_errors(&self) -> TokenStream {
        self.0.iter().map(syn::Error::to_compile_error).collect()
    }
}

impl From<syn::Error> for Errors {
    fn from(error: syn::Error) -> Self {
        Errors(vec![error])
    }
}
