//! Where a test lives: a link to the file and line on the repository's forge when the
//! repository is on one this UI knows (GitHub, GitLab, Codeberg) and the commit is known,
//! else the plain `path:line`.

use maud::{html, Markup};

/// The forge's web address of `path` at `line` in `commit`, for a repository at
/// `https://<known forge>/<owner>/<name>[.git]`.
pub fn source_url(repository: &str, commit: Option<&str>, path: &str, line: u32) -> Option<String> {
    let commit =
        commit.filter(|c| !c.is_empty() && c.chars().all(|c| c.is_ascii_alphanumeric()))?;
    let rest = repository.strip_prefix("https://")?;
    let (host, project) = rest.split_once('/')?;
    let project = project.trim_end_matches('/');
    let project = project.strip_suffix(".git").unwrap_or(project);
    let clean = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let segments: Vec<&str> = project.split('/').collect();
    if segments.len() < 2 || !segments.iter().all(|s| clean(s) && *s != "." && *s != "..") {
        return None;
    }
    let blob = match host.to_ascii_lowercase().as_str() {
        "github.com" => "blob",
        "gitlab.com" => "-/blob",
        "codeberg.org" => "src/commit",
        _ => return None,
    };
    Some(format!(
        "https://{host}/{project}/{blob}/{commit}/{}#L{line}",
        encode_path(path)
    ))
}

/// Percent-encodes what a path segment may not hold in a URL (keeps `/`).
fn encode_path(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `path:line`, linked to the forge when [`source_url`] knows the way.
pub fn location(repository: &str, commit: Option<&str>, path: &str, line: u32) -> Markup {
    let text = format!("{path}:{line}");
    html! {
        @if let Some(url) = source_url(repository, commit, path, line) {
            a.loc href=(url) rel="noopener noreferrer" { code { (text) } }
        } @else {
            code.loc { (text) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_forges_link_to_the_line_at_the_commit() {
        assert_eq!(
            source_url(
                "https://github.com/o/r.git",
                Some("abc123"),
                "src/a b.ts",
                7
            )
            .as_deref(),
            Some("https://github.com/o/r/blob/abc123/src/a%20b.ts#L7")
        );
        assert_eq!(
            source_url("https://gitlab.com/g/sub/r", Some("abc"), "t.py", 1).as_deref(),
            Some("https://gitlab.com/g/sub/r/-/blob/abc/t.py#L1")
        );
        assert_eq!(
            source_url("https://codeberg.org/o/r", Some("abc"), "t.py", 2).as_deref(),
            Some("https://codeberg.org/o/r/src/commit/abc/t.py#L2")
        );
    }

    #[test]
    fn anything_else_is_shown_as_path_and_line() {
        for (repo, commit) in [
            ("https://git.example/o/r", Some("abc")),
            ("https://github.com/o/r", None),
            ("https://github.com/o/r", Some("abc?x=1")),
            ("http://github.com/o/r", Some("abc")),
            ("https://github.com/o", Some("abc")),
            ("https://github.com/o/../r", Some("abc")),
            ("/srv/repo", Some("abc")),
        ] {
            assert_eq!(source_url(repo, commit, "a.ts", 1), None, "{repo}");
        }
        let shown = location("https://git.example/o/r", Some("abc"), "a.ts", 3).into_string();
        assert_eq!(shown, "<code class=\"loc\">a.ts:3</code>");
    }
}
