//! On error: the errors, plus a stub impl so the user's code that uses the struct as a session
//! (`Session<Visit>` in handler signatures) does not cascade into a wall of secondary errors.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

pub(crate) fn expand(node: &DeriveInput, error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    // A lifetime or const generic is itself one of the errors; a stub would only add more.
    let generics = &node.generics;
    if generics.lifetimes().next().is_some() || generics.const_params().next().is_some() {
        return errors;
    }
    let ident = &node.ident;
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        #errors
        #[automatically_derived]
        impl #impl_generics ::typed_sessions::SessionData for #ident #ty_generics #where_clause {
            const KEYS: &'static [&'static str] = &[];
            type Fields = ::typed_sessions::__private::Unavailable;
            fn decode(_: &::typed_sessions::__private::Record) -> Self {
                // Never runs: the `compile_error!` above stops the build.
                ::core::panic!("`#[derive(Session)]` failed to compile")
            }
            fn encode_dirty(
                &self,
                _: u64,
                _: &mut ::typed_sessions::__private::Changes<Self>,
            ) -> ::core::result::Result<(), ::typed_sessions::Error> {
                ::core::result::Result::Ok(())
            }
            fn wrap(_: ::typed_sessions::__private::SharedFields<Self>) -> Self::Fields {
                ::typed_sessions::__private::Unavailable
            }
            fn assign(&mut self, _: Self, _: u64) {}
        }
    }
}
