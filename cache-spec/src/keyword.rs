//! A small macro for the option values written as strings in attributes and
//! config files (`tier = "hybrid"`): one enum, its spellings, and parsing.

/// Declares a `Copy` enum whose variants are spelled by the given strings,
/// with `ALL`, `as_str`, `parse`, `expected` and `Display`.
macro_rules! keyword_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used in attributes and config files.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Reads the spelling used in attributes and config files.
            pub fn parse(text: &str) -> ::core::option::Option<Self> {
                match text {
                    $($text => ::core::option::Option::Some($name::$variant),)+
                    _ => ::core::option::Option::None,
                }
            }

            /// The accepted spellings, quoted and comma-separated, for error
            /// messages: `"memory", "disk", "redis", "hybrid"`.
            pub fn expected() -> &'static str {
                concat!($("\"", $text, "\", "),+).trim_end_matches(", ")
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use keyword_enum;
