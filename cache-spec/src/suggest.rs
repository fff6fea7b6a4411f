//! "Did you mean ...?": the closest of some accepted spellings to a typo.

/// The accepted spelling closest to `text`, when it is close enough to be a
/// typo, or the one accepted spelling that starts with it (`"security"` for
/// `"security-critical"`).
///
/// ```
/// use cache_spec::suggest::closest;
///
/// let names = ["model-metadata", "virtual-keys"];
/// assert_eq!(closest("model-metdata", names.into_iter()), Some("model-metadata"));
/// assert_eq!(closest("virtual", names.into_iter()), Some("virtual-keys"));
/// assert_eq!(closest("users", names.into_iter()), None);
/// ```
pub fn closest<'a>(
    text: &str,
    candidates: impl Iterator<Item = &'a str> + Clone,
) -> Option<&'a str> {
    let by_distance = candidates
        .clone()
        .map(|candidate| (edit_distance(text, candidate), candidate))
        .filter(|(distance, candidate)| {
            *distance <= 2.max(candidate.len() / 3) && *distance < text.len().max(1)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate);
    by_distance.or_else(|| {
        if text.len() < 3 {
            return None;
        }
        let mut prefixed = candidates.filter(|candidate| candidate.starts_with(text));
        match (prefixed.next(), prefixed.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}
