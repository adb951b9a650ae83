//! MongoDB's regular expressions (PCRE) on the `regex` crate.
//!
//! The two dialects agree on almost everything a query writes; where they differ in
//! meaning, the pattern is rewritten before it is compiled, so that a query matches what
//! it matches on mongod:
//!
//! - `$` (and `\Z`) without the `m` option also match before a newline that ends the
//!   subject (`/abc$/` matches `"abc\n"`); `regex` has no such anchor, so it becomes
//!   `(?:\n?\z)`, which only differs in consuming that newline, and a boolean match
//!   does not care.
//! - with `x`, PCRE ignores white space and `#` comments *outside* character classes
//!   only; `regex`'s own `x` also strips them inside, so the rewrite strips them itself.
//!
//! Everything else (escapes, classes, groups) is passed through untouched: a pattern the
//! `regex` crate cannot compile is refused with mongod's code for an invalid regex.

use bson::Regex as BsonRegex;
use regex::Regex;

use crate::error::{CmdResult, CommandError, ErrorCode};

/// A `$regex` with its original form (a stored regex equal to it also matches).
#[derive(Clone, Debug)]
pub struct CompiledRegex {
    pub source: BsonRegex,
    pub regex: Regex,
}

/// Compiles a MongoDB regex (`i`, `m`, `s`, `x` options; `u` is implied).
pub fn compile_regex(pattern: &str, options: &str) -> CmdResult<CompiledRegex> {
    let mut flags = String::new();
    let mut extended = false;
    for c in options.chars() {
        match c {
            'i' | 'm' | 's' => {
                if !flags.contains(c) {
                    flags.push(c);
                }
            }
            'x' => extended = true,
            'u' => {}
            other => {
                return Err(CommandError::new(
                    ErrorCode::Location(51108),
                    format!("invalid flag in regex options: {other}"),
                ));
            }
        }
    }
    let translated = translate(pattern, flags.contains('m'), extended);
    let full = if flags.is_empty() {
        translated
    } else {
        format!("(?{flags}){translated}")
    };
    let regex = Regex::new(&full).map_err(|e| {
        CommandError::new(
            ErrorCode::Location(51091),
            format!("Regular expression is invalid: {e}"),
        )
    })?;
    let mut sorted: Vec<char> = options.chars().collect();
    sorted.sort_unstable();
    let null_byte =
        |what: &str| CommandError::bad_value(format!("regex {what} contains a null byte"));
    let source = BsonRegex {
        pattern: pattern
            .to_string()
            .try_into()
            .map_err(|_| null_byte("pattern"))?,
        options: sorted
            .into_iter()
            .collect::<String>()
            .try_into()
            .map_err(|_| null_byte("options"))?,
    };
    Ok(CompiledRegex { source, regex })
}

/// End of subject, or before a final newline: PCRE's `$` without `m`, and `\Z`.
const END_OR_FINAL_NEWLINE: &str = r"(?:\n?\z)";

/// Rewrites the PCRE constructs whose meaning differs in `regex` (see the module doc).
fn translate(pattern: &str, multiline: bool, extended: bool) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Z') if !in_class => out.push_str(END_OR_FINAL_NEWLINE),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` (after an optional `^`) right at the start is a literal.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().expect("peeked"));
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str(r"\]");
                }
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // A POSIX class such as `[:alpha:]` inside a bracket expression.
                out.push('[');
                for p in chars.by_ref() {
                    out.push(p);
                    if p == ']' {
                        break;
                    }
                }
            }
            '[' => out.push_str(r"\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            ' ' if in_class && extended => out.push_str(r"\x20"),
            '#' if in_class && extended => out.push_str(r"\#"),
            c if in_class && extended && c.is_whitespace() => {
                out.push_str(&format!(r"\x{{{:x}}}", c as u32));
            }
            '$' if !in_class && !multiline => out.push_str(END_OR_FINAL_NEWLINE),
            c if !in_class && extended && c.is_whitespace() => {}
            '#' if !in_class && extended => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        break;
                    }
                }
            }
            other => out.push(other),
        }
    }
    if extended {
        // Whitespace inside classes is escaped above; `regex`'s `x` strips the rest the
        // same way PCRE does, so it is kept on for anything the walk left.
        format!("(?x){out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_match(pattern: &str, options: &str, subject: &str) -> bool {
        compile_regex(pattern, options)
            .unwrap()
            .regex
            .is_match(subject)
    }

    #[test]
    fn dollar_matches_before_a_final_newline_unless_multiline() {
        assert!(is_match("abc$", "", "abc\n"));
        assert!(is_match("abc$", "", "abc"));
        assert!(!is_match("abc$", "", "abc\n\n"));
        assert!(is_match("abc$", "m", "abc\nx"));
        assert!(!is_match("abc$", "", "abc\nx"));
        assert!(is_match(r"c\Z", "", "abc\n"));
        assert!(is_match("[$]", "", "a$"));
        assert!(is_match(r"\$", "", "a$"));
    }

    #[test]
    fn extended_mode_keeps_white_space_in_classes() {
        assert!(is_match("^a[ ]b", "x", "a b c"));
        assert!(is_match("a b # comment\n c", "x", "abc"));
        assert!(!is_match("a b", "x", "a b"));
        assert!(is_match("[]a]", "", "]"));
        assert!(is_match("[^]a]", "", "b"));
        assert!(is_match("[[:digit:]]", "", "5"));
    }

    #[test]
    fn bad_patterns_and_flags_are_refused() {
        assert_eq!(
            compile_regex("(", "").unwrap_err().code,
            ErrorCode::Location(51091)
        );
        assert_eq!(
            compile_regex("a", "q").unwrap_err().code,
            ErrorCode::Location(51108)
        );
    }
}
