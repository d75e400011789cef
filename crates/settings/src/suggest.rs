//! Near-miss suggestions for unknown names.
//!
//! The failure this exists for is the one the architecture calls out: a variable with a
//! misspelled prefix or a single underscore (`SPECLINE_DATABASE_URL`) silently does nothing.
//! Two measures catch nearly all of it: names equal once underscores and case are ignored (the
//! separator mistakes), and a small edit distance (typos such as `PROVIDR`).

/// The name with underscores removed and letters lowercased.
pub(crate) fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '.' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Levenshtein distance over chars.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate `name` most likely meant: one equal after [`normalize`], else the nearest
/// within `max_distance` (case-insensitive; ties go to the first candidate, so the answer is
/// deterministic), else the longest candidate that `name` extends.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
    max_distance: usize,
) -> Option<&'a str> {
    let normalized = normalize(name);
    if let Some(hit) = candidates
        .clone()
        .into_iter()
        .find(|c| normalize(c) == normalized)
    {
        return Some(hit);
    }
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates.clone() {
        let d = distance(&lower, &c.to_ascii_lowercase());
        if d <= max_distance && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    if let Some((_, c)) = best {
        return Some(c);
    }
    // A known name with something appended (`http.listen_addr`, `..._URL_STRING`): the
    // longest known name the unknown one starts with.
    candidates
        .into_iter()
        .filter(|c| normalized.starts_with(&normalize(c)))
        .max_by_key(|c| normalize(c).len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", "abc"), 0);
        assert_eq!(distance("providr", "provider"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn separator_mistakes_match_by_normalization() {
        let c = ["SPECLINE_DATABASE__URL", "SPECLINE_DATABASE__POOL_SIZE"];
        assert_eq!(
            closest("SPECLINE_DATABASE_URL", c.iter().copied(), 0),
            Some("SPECLINE_DATABASE__URL")
        );
        assert_eq!(
            closest("specline_database__pool_size", c.iter().copied(), 0),
            Some("SPECLINE_DATABASE__POOL_SIZE")
        );
    }

    #[test]
    fn appended_words_suggest_the_name_they_extend() {
        let c = ["http.listen", "http.lis"];
        assert_eq!(
            closest("http.listen_addr", c.iter().copied(), 3),
            Some("http.listen")
        );
    }

    #[test]
    fn far_names_get_no_suggestion() {
        let c = ["SPECLINE_DATABASE__URL"];
        assert_eq!(closest("SPECLINE_WHATEVER", c.iter().copied(), 3), None);
    }
}
