//! Names: serde's `rename_all` rules, and the default collection name of a model.

/// serde's `rename_all` rules, as they apply to (snake_case) field names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl RenameRule {
    pub const NAMES: &'static [(&'static str, RenameRule)] = &[
        ("lowercase", RenameRule::Lower),
        ("UPPERCASE", RenameRule::Upper),
        ("PascalCase", RenameRule::Pascal),
        ("camelCase", RenameRule::Camel),
        ("snake_case", RenameRule::Snake),
        ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
        ("kebab-case", RenameRule::Kebab),
        ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
    ];

    pub fn from_name(name: &str) -> Option<RenameRule> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
    }

    /// The serialized name of a field (as serde computes it).
    pub fn apply_to_field(self, field: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => field.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => field.to_ascii_uppercase(),
            RenameRule::Pascal => {
                let mut out = String::with_capacity(field.len());
                let mut capitalize = true;
                for ch in field.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        out.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        out.push(ch);
                    }
                }
                out
            }
            RenameRule::Camel => {
                let pascal = RenameRule::Pascal.apply_to_field(field);
                let mut chars = pascal.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                    None => pascal,
                }
            }
            RenameRule::Kebab => field.replace('_', "-"),
            RenameRule::ScreamingKebab => field.to_ascii_uppercase().replace('_', "-"),
        }
    }
}

impl RenameRule {
    /// The serialized name of an enum variant (PascalCase in Rust), as serde computes it.
    pub fn apply_to_variant(self, variant: &str) -> String {
        match self {
            RenameRule::Pascal => variant.to_owned(),
            RenameRule::Lower => variant.to_ascii_lowercase(),
            RenameRule::Upper => variant.to_ascii_uppercase(),
            RenameRule::Camel => {
                let mut chars = variant.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            }
            // serde puts an underscore before every capital but the first.
            _ => {
                let mut snake = String::with_capacity(variant.len() + 4);
                for (i, ch) in variant.char_indices() {
                    if i > 0 && ch.is_uppercase() {
                        snake.push('_');
                    }
                    snake.push(ch.to_ascii_lowercase());
                }
                self.apply_to_field(&snake)
            }
        }
    }
}

/// `BlogPost` → `blog_post`, `HTTPRequest` → `http_request`.
pub fn snake_case(type_name: &str) -> String {
    let chars: Vec<char> = type_name.chars().collect();
    let mut out = String::with_capacity(type_name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The English plural of the last word of a snake_case name, by the regular rules
/// (`category` → `categories`, `box` → `boxes`, `user` → `users`). Irregular plurals
/// (`person`) are not guessed: name the collection with `collection = "..."`.
pub fn pluralize(name: &str) -> String {
    let vowel = |c: char| "aeiou".contains(c);
    if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|end| name.ends_with(end))
    {
        format!("{name}es")
    } else if name.ends_with('y') && name.chars().rev().nth(1).is_some_and(|c| !vowel(c)) {
        format!("{}ies", &name[..name.len() - 1])
    } else {
        format!("{name}s")
    }
}

/// The default collection of a model type: the snake_case plural of its name.
pub fn collection_name(type_name: &str) -> String {
    pluralize(&snake_case(type_name))
}

/// Levenshtein distance, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest known name, if it is close enough to be a typo.
pub fn did_you_mean<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(unknown, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_rules_match_serde() {
        let f = "created_at";
        let expect = [
            ("lowercase", "created_at"),
            ("UPPERCASE", "CREATED_AT"),
            ("PascalCase", "CreatedAt"),
            ("camelCase", "createdAt"),
            ("snake_case", "created_at"),
            ("SCREAMING_SNAKE_CASE", "CREATED_AT"),
            ("kebab-case", "created-at"),
            ("SCREAMING-KEBAB-CASE", "CREATED-AT"),
        ];
        for (rule, out) in expect {
            assert_eq!(
                RenameRule::from_name(rule).unwrap().apply_to_field(f),
                out,
                "{rule}"
            );
        }
    }

    #[test]
    fn collection_names() {
        assert_eq!(collection_name("User"), "users");
        assert_eq!(collection_name("BlogPost"), "blog_posts");
        assert_eq!(collection_name("Category"), "categories");
        assert_eq!(collection_name("Key"), "keys");
        assert_eq!(collection_name("Box"), "boxes");
        assert_eq!(collection_name("Match"), "matches");
        assert_eq!(collection_name("HTTPRequest"), "http_requests");
        assert_eq!(collection_name("Address2"), "address2s");
    }

    #[test]
    fn hints() {
        let known = ["length", "range", "email", "unique"];
        assert_eq!(did_you_mean("lenght", &known), Some("length"));
        assert_eq!(did_you_mean("emial", &known), Some("email"));
        assert_eq!(did_you_mean("zzzzzz", &known), None);
    }
}
