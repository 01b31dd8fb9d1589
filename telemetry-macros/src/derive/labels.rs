//! `#[derive(LabelValue)]` and `#[derive(LabelSet)]`.

use super::{crate_path, named_fields, no_generics, Attrs};
use crate::names::check_attribute_key;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

/// snake_case of a CamelCase identifier.
fn snake(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn label_value(input: DeriveInput) -> syn::Result<TokenStream> {
    let container = Attrs::parse(&input.attrs, "label", &["crate"])?;
    let krate = crate_path(&container)?;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "#[derive(LabelValue)] is for field-less enums; for a struct of labels use #[derive(LabelSet)]",
        ));
    };
    no_generics(&input, "a LabelValue enum cannot be generic")?;
    let ident = &input.ident;
    let mut arms_index = Vec::new();
    let mut arms_value = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, v) in data.variants.iter().enumerate() {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new(
                v.fields.span(),
                "a LabelValue variant has no fields: the set of values must be fixed",
            ));
        }
        let attrs = Attrs::parse(&v.attrs, "label", &["value"])?;
        let value = match attrs.get_str("value")? {
            Some(s) => s.value(),
            None => snake(&v.ident.to_string()),
        };
        if seen.contains(&value) {
            return Err(syn::Error::new(
                v.ident.span(),
                format!("label value {value:?} is used twice"),
            ));
        }
        seen.push(value.clone());
        let vi = &v.ident;
        arms_index.push(quote!(#ident::#vi => #i));
        arms_value.push(quote!(#ident::#vi => #value));
    }
    let n = data.variants.len();
    Ok(quote! {
        #[automatically_derived]
        impl #krate::LabelValue for #ident {
            const CARDINALITY: ::core::option::Option<usize> = ::core::option::Option::Some(#n);
            const VALUES: &'static [&'static str] = &[#(#seen),*];

            #[inline]
            fn index(&self) -> usize {
                match *self { #(#arms_index,)* }
            }

            fn to_value(&self) -> #krate::__private::Value {
                #krate::__private::Value::from(match *self { #(#arms_value,)* })
            }
        }
    })
}

pub(crate) fn label_set(input: DeriveInput) -> syn::Result<TokenStream> {
    let container = Attrs::parse(&input.attrs, "label", &["crate"])?;
    let krate = crate_path(&container)?;
    let fields = named_fields(
        &input,
        "#[derive(LabelSet)] is for structs whose named fields are label values",
        "a LabelSet has named fields: the field names are the label keys",
        "a LabelSet struct cannot be generic",
    )?;
    let ident = &input.ident;
    let mut keys: Vec<String> = Vec::new();
    let mut checks = Vec::new();
    let mut cards = Vec::new();
    let mut values = Vec::new();
    let mut index_steps = Vec::new();
    let mut kvs = Vec::new();
    for f in &fields.named {
        let attrs = Attrs::parse(&f.attrs, "label", &["name"])?;
        let fi = f.ident.as_ref().expect("named field");
        let key_span = attrs.span_of("name").unwrap_or(fi.span());
        let key = match attrs.get_str("name")? {
            Some(s) => s.value(),
            None => fi.to_string().trim_start_matches("r#").to_owned(),
        };
        if let Err(e) = check_attribute_key(&key) {
            return Err(syn::Error::new(key_span, e));
        }
        if keys.contains(&key) {
            return Err(syn::Error::new(
                key_span,
                format!("label key `{key}` is used twice"),
            ));
        }
        keys.push(key.clone());
        let ty = &f.ty;
        // Points a wrong label type at the field's type.
        checks.push(quote_spanned! {ty.span()=>
            const _: fn() = || {
                fn is_label_value<T: #krate::LabelValue>() {}
                is_label_value::<#ty>();
            };
        });
        cards.push(quote!(<#ty as #krate::LabelValue>::CARDINALITY));
        values.push(quote!(<#ty as #krate::LabelValue>::VALUES));
        index_steps.push(quote! {
            i = i * match <#ty as #krate::LabelValue>::CARDINALITY {
                ::core::option::Option::Some(n) => n,
                ::core::option::Option::None => 1,
            } + #krate::LabelValue::index(&self.#fi);
        });
        kvs.push(quote!(#krate::KeyValue::new(#key, #krate::LabelValue::to_value(&self.#fi))));
    }
    Ok(quote! {
        #(#checks)*
        #[automatically_derived]
        impl #krate::LabelSet for #ident {
            const KEYS: &'static [&'static str] = &[#(#keys),*];
            const VALUES: &'static [&'static [&'static str]] = &[#(#values),*];
            const CARDINALITY: ::core::option::Option<usize> =
                #krate::__private::dense_product(&[#(#cards),*]);

            #[inline]
            fn index(&self) -> usize {
                #[allow(unused_mut)]
                let mut i = 0usize;
                #(#index_steps)*
                i
            }

            #[inline]
            fn with_attributes<R>(&self, f: impl ::core::ops::FnOnce(&[#krate::KeyValue]) -> R) -> R {
                f(&[#(#kvs),*])
            }
        }
    })
}
